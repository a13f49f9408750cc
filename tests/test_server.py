"""The real ASGI server process answers the pages people and integrators open first."""

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import PASSWORD

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.server


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_real_server_serves_home_docs_and_admin(start_server, server):
    proc = start_server(server=server)
    home = urllib.request.urlopen(f"{proc.url}/login/", timeout=10)
    assert home.status == 200
    assert b"Parley" in home.read()
    # "/" redirects anonymous visitors to the log-in page.
    root = urllib.request.urlopen(f"{proc.url}/", timeout=10)
    assert root.geturl().endswith("/login/?next=/")
    docs = urllib.request.urlopen(f"{proc.url}/api/docs/", timeout=10).read()
    assert b"swagger" in docs.lower()
    assert b"cdn" not in docs.lower()
    admin = urllib.request.urlopen(f"{proc.url}/admin/login/", timeout=10)
    assert admin.status == 200
    admin_page = admin.read()  # a response body reads once
    assert b"Django administration" in admin_page and b'name="password"' in admin_page
    # Static assets come from the same process (whitenoise / runserver_nostatic).
    htmx = urllib.request.urlopen(f"{proc.url}/static/vendor/htmx/htmx.min.js", timeout=10)
    assert htmx.status == 200


def test_server_entry_point_loads_views_and_freezes_its_startup_heap():
    """chatsite.asgi imports every view before serving and freezes what startup built, so no
    request pays for a full garbage collection over startup's objects (bench: 45-50 ms stalls)."""
    probe = (
        "import gc, json, sys; import chatsite.asgi; "
        "print(json.dumps({'frozen': gc.get_freeze_count(), "
        "'views': [m in sys.modules for m in ('messaging.api', 'rooms.views', 'drf_spectacular.views')]}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["views"] == [True, True, True]
    assert out["frozen"] > 50_000


def test_real_server_refuses_oversized_frames_while_reading_them(start_server, make_user):
    """uvicorn's default limit is 16 MiB: a frame was buffered whole before the consumer's own
    64 KiB check answered it. The server's limit now refuses it (1009) as it arrives, while a
    frame over the consumer's limit but under the server's still gets an error frame."""
    import asyncio

    import websockets

    from accounts.services import ws_ticket_issue
    from chatsite import serve
    from messaging.consumers import MAX_FRAME_CHARS

    assert serve.FRAME_CHARS == MAX_FRAME_CHARS
    server = start_server()
    big = make_user("big")
    tickets = [ws_ticket_issue(user=big) for _ in range(2)]

    async def scenario() -> tuple[dict, int | None]:
        async with websockets.connect(f"{server.ws_url}/ws/?ticket={tickets[0]}", max_size=None) as ws:
            await ws.recv()  # hello
            await ws.send(json.dumps({"type": "ping", "pad": "x" * (MAX_FRAME_CHARS + 10)}))
            too_large = json.loads(await asyncio.wait_for(ws.recv(), 10))
        async with websockets.connect(f"{server.ws_url}/ws/?ticket={tickets[1]}", max_size=None) as ws:
            await ws.recv()
            await ws.send("x" * (serve.WS_MAX_BYTES + 1))
            with pytest.raises(websockets.ConnectionClosed) as closed:
                await asyncio.wait_for(ws.recv(), 10)
        return too_large, closed.value.rcvd.code if closed.value.rcvd else None

    too_large, close_code = asyncio.run(scenario())
    assert too_large["code"] == "frame_too_large"
    assert close_code == 1009  # message too big


def test_real_server_does_not_take_the_client_address_from_forwarded_headers(
    start_server, make_user, settings
):
    """uvicorn believes X-Forwarded-For from local peers by default; with that, a client on this
    machine could pick a new address per log-in attempt and never be throttled."""
    server = start_server(extra_env={"LOGIN_THROTTLE_IP_ATTEMPTS": "3", "LOGIN_THROTTLE_ATTEMPTS": "100"})
    make_user("alice")

    def attempt(username: str, password: str, n: int) -> int:
        body = json.dumps({"username": username, "password": password}).encode()
        request = urllib.request.Request(
            f"{server.url}/api/auth/token/",
            data=body,
            headers={"Content-Type": "application/json", "X-Forwarded-For": f"198.51.100.{n}"},
        )
        try:
            return urllib.request.urlopen(request, timeout=10).status
        except urllib.error.HTTPError as error:
            return error.code

    assert [attempt(f"nobody{n}", "x", n) for n in range(3)] == [401, 401, 401]
    assert attempt("alice", PASSWORD, 50) == 429


@pytest.mark.parametrize("setting, accepted", [(None, False), ("off", False), ("on", True)])
def test_real_server_refuses_permessage_deflate_unless_configured(start_server, make_user, setting, accepted):
    """Browsers offer permessage-deflate on every socket; by default the server answers without
    it (one encoded frame per event, not one compression per socket); WS_DEFLATE=on accepts.
    Driven by the benchmark's client, which offers what Chromium offers and inflates frames."""
    import asyncio

    from accounts.services import ws_ticket_issue
    from bench import wsclient

    server = start_server(extra_env={"WS_DEFLATE": setting} if setting else None)
    ticket = ws_ticket_issue(user=make_user("squeezed"))

    async def scenario() -> tuple[str | None, dict, int]:
        client, hello = await wsclient.ws_connect("127.0.0.1", server.port, f"/ws/?ticket={ticket}")
        wire = client.wire_bytes
        client.close()
        return client.deflate, json.loads(hello), wire

    assert wsclient.OFFER_DEFLATE
    answer, hello, wire = asyncio.run(scenario())
    assert hello["type"] == "hello"  # inflated when it came compressed
    if accepted:
        assert answer is not None and answer.startswith("permessage-deflate")
        assert wire < len(json.dumps(hello, separators=(",", ":")))  # it did come compressed
    else:
        assert answer is None


def test_serve_refuses_an_unknown_deflate_setting():
    from chatsite import serve

    with pytest.raises(SystemExit, match="WS_DEFLATE"):
        serve.deflate_wanted({"WS_DEFLATE": "sometimes"})
    assert "false" in serve.command(deflate=False) and "true" in serve.command(deflate=True)
