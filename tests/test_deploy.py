"""The production shape, exercised: Debian's nginx with the repo's deploy/nginx.conf (rendered as
docker-compose.yml renders it) in front of two app processes (``python -m chatsite.serve``,
DEBUG off, collected static files) on PostgreSQL and Redis. Every request goes through nginx."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import re
import time
import urllib.error
import urllib.request

import pytest
import websockets
from PIL import Image

from conftest import event_lines
from tests.deployment import Deployment

pytestmark = [pytest.mark.services, pytest.mark.server]
PASSWORD = "Deploy-Pass-42!x"


def request(
    deployment: Deployment, method: str, path: str, body: object = None, token: str | None = None,
    headers: dict[str, str] | None = None, raw: bytes | None = None,
) -> tuple[int, dict[str, str], bytes]:  # fmt: skip
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    req = urllib.request.Request(deployment.url + path, data=data, method=method, headers=headers or {})
    if body is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(req, timeout=20) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def api(
    deployment: Deployment, method: str, path: str, body: object = None, token: str | None = None
) -> dict:
    status, _, content = request(deployment, method, path, body, token)
    assert status < 300, (method, path, status, content[:300])
    return json.loads(content) if content else {}


def account(deployment: Deployment, username: str) -> str:
    api(deployment, "POST", "/api/auth/register/", {"username": username, "password": PASSWORD})
    return api(deployment, "POST", "/api/auth/token/", {"username": username, "password": PASSWORD})["access"]


def test_static_files_come_from_nginx_compressed_and_cached(deployment, static_root):
    css = next(
        p for p in sorted((static_root / "css").glob("*.css")) if re.search(r"\.[0-9a-f]{12}\.css$", p.name)
    )
    status, headers, body = request(
        deployment, "GET", f"/static/css/{css.name}", headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200 and headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(body) == css.read_bytes()
    assert "max-age=2592000" in headers["Cache-Control"] and headers["X-Content-Type-Options"] == "nosniff"
    assert request(deployment, "GET", "/static/css/missing.css")[0] == 404


def test_health_checks_and_the_upload_limit_answer_through_nginx(deployment):
    assert request(deployment, "GET", "/healthz")[:1] == (200,)
    status, _, body = request(deployment, "GET", "/readyz")
    assert status == 200 and json.loads(body) == {"ready": True, "database": "ok", "redis": "ok"}
    # Refused by nginx before any app process reads it.
    status, _, body = request(deployment, "POST", "/api/auth/token/", raw=b"x" * (27 * 2**20))
    assert status == 413 and b"nginx" in body


def _ticket(deployment: Deployment, token: str) -> str:
    return api(deployment, "POST", "/api/auth/ws-ticket/", token=token)["ticket"]


def test_a_client_cannot_choose_its_address_through_nginx(deployment):
    """nginx replaces X-Forwarded-For with the address it saw; the app believes it from nginx only.
    Log-in failures from one client count against that one address, whatever header it sends
    (LOGIN_THROTTLE_IP_ATTEMPTS is 5 here)."""
    statuses = [
        request(
            deployment, "POST", "/api/auth/token/", {"username": f"nobody{i}", "password": "wrong"},
            headers={"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"203.0.113.{i}"},
        )[0]
        for i in range(6)
    ]  # fmt: skip
    assert statuses == [401] * 5 + [429]


def _multipart(field: str, filename: str, data: bytes) -> tuple[bytes, str]:
    boundary = "parley-deploy-test-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="{field}"; filename="{filename}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return body, f"multipart/form-data; boundary={boundary}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_an_image_goes_up_through_nginx_and_comes_back_by_a_presigned_redirect(deployment):
    ann, ben, eve = (account(deployment, name) for name in ("ann", "ben", "eve"))
    room = api(deployment, "POST", "/api/rooms/", {"name": "Photos"}, token=ann)
    api(deployment, "POST", f"/api/rooms/{room['id']}/join/", token=ben)
    picture = io.BytesIO()
    Image.new("RGB", (640, 480), (30, 120, 200)).save(picture, "JPEG")
    body, content_type = _multipart("file", "sky.jpg", picture.getvalue())
    status, _, answer = request(
        deployment, "POST", f"/api/rooms/{room['id']}/attachments/", raw=body, token=ann,
        headers={"Content-Type": content_type},
    )  # fmt: skip
    assert status == 201, answer[:300]
    upload = json.loads(answer)
    assert upload["kind"] == "image" and (upload["width"], upload["height"]) == (640, 480)
    api(
        deployment, "POST", f"/api/rooms/{room['id']}/messages/",
        {"body": "", "client_id": "sky-1", "attachments": [upload["id"]]}, token=ann,
    )  # fmt: skip

    opener = urllib.request.build_opener(_NoRedirect)
    link = urllib.request.Request(deployment.url + upload["url"], headers={"Authorization": f"Bearer {ben}"})
    with pytest.raises(urllib.error.HTTPError) as redirected:
        opener.open(link, timeout=20)
    assert redirected.value.code == 302
    location = redirected.value.headers["Location"]
    assert location.startswith(deployment.app_env["AWS_S3_ENDPOINT_URL"]) and "Signature" in location
    with urllib.request.urlopen(location, timeout=20) as stored:
        served = Image.open(io.BytesIO(stored.read()))
    assert served.size == (640, 480)
    # Not a member: the same 404 as a file that does not exist.
    assert request(deployment, "GET", upload["url"], token=eve)[0] == 404
    assert request(deployment, "GET", f"/files/{upload['id'] + 1000}/x.jpg", token=eve)[0] == 404


async def _socket(deployment: Deployment, token: str, since: int | None = None, ticket: str | None = None):
    ticket = ticket or _ticket(deployment, token)
    query = f"?ticket={ticket}" + (f"&since={since}" if since is not None else "")
    ws = await websockets.connect(f"{deployment.ws_url}/ws/{query}", open_timeout=10)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello"
    return ws


async def _next(ws, kind: str, wait: float = 10) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), wait))
        if frame["type"] == kind:
            return frame


def test_two_people_chat_across_both_processes_and_survive_one_dying(deployment):
    ann, ben = account(deployment, "ann"), account(deployment, "ben")
    room = api(deployment, "POST", "/api/rooms/", {"name": "Deploy"}, token=ann)
    api(deployment, "POST", f"/api/rooms/{room['id']}/join/", token=ben)

    async def scenario() -> None:
        writer = await _socket(deployment, ann)
        # nginx takes turns between the two processes, request by request: of four sockets opened
        # one after the other (their tickets fetched first), two are on each.
        tickets = [_ticket(deployment, ben) for _ in range(4)]
        readers = [await _socket(deployment, ben, ticket=ticket) for ticket in tickets]

        async def send(body: str) -> None:
            frame = {"type": "message.send", "room": room["id"], "body": body, "client_id": body}
            await writer.send(json.dumps(frame))
            await _next(writer, "message.ack")

        await send("before")
        seqs = set()
        for reader in readers:
            frame = await _next(reader, "message.new")
            assert frame["message"]["body"] == "before"
            seqs.add(frame["seq"])
        (seq,) = seqs

        deployment.apps[0].kill()  # one app process dies without a word
        await asyncio.sleep(0.5)
        dropped = [r for r in readers if r.state is not websockets.protocol.State.OPEN or await _closed(r)]
        survivors = [r for r in readers if r not in dropped]
        assert dropped and survivors, "the sockets were not spread over both processes"
        if writer in dropped or await _closed(writer):
            writer = await _socket(deployment, ann)  # through nginx, to the live process
        for body in ("during-1", "during-2"):
            await send(body)
        for reader in survivors:
            assert [(await _next(reader, "message.new"))["message"]["body"] for _ in range(2)] == [
                "during-1",
                "during-2",
            ]
        # Each dropped page reconnects through nginx (the dead process is skipped) and catches up.
        for _ in dropped:
            back = await _socket(deployment, ben, since=seq)
            assert [(await _next(back, "message.new"))["message"]["body"] for _ in range(2)] == [
                "during-1",
                "during-2",
            ]
            await back.close()
        for ws in [writer, *survivors]:
            await ws.close()

    asyncio.run(scenario())


async def _closed(ws) -> bool:
    """Whether the socket was closed by the other side (answering a ping tells)."""
    try:
        await asyncio.wait_for(await ws.ping(), 3)
        return False
    except (TimeoutError, websockets.ConnectionClosed):
        return True


def test_the_event_stream_passes_nginx_unbuffered_with_its_heartbeats(deployment):
    ann, ben = account(deployment, "ann"), account(deployment, "ben")
    room = api(deployment, "POST", "/api/rooms/", {"name": "Streamed"}, token=ann)
    api(deployment, "POST", f"/api/rooms/{room['id']}/join/", token=ben)
    stream = urllib.request.Request(
        f"{deployment.url}/events/stream/",
        headers={"Authorization": f"Bearer {ben}", "Accept-Encoding": "gzip"},
    )
    with urllib.request.urlopen(stream, timeout=10) as response:
        assert response.status == 200 and response.headers["Content-Type"].startswith("text/event-stream")
        assert "Content-Encoding" not in response.headers
        hello = event_lines(response, '"type":"hello"')[-1]
        assert json.loads(hello.removeprefix("data: "))["user"]["username"] == "ben"
        # Each event passes at once (nginx would otherwise hold it until its buffer fills), on
        # whichever process the send lands: both share Redis.
        for body in ("first", "second"):
            started = time.monotonic()
            api(
                deployment,
                "POST",
                f"/api/rooms/{room['id']}/messages/",
                {"body": body, "client_id": body},
                ann,
            )
            frame = json.loads(
                event_lines(response, '"type":"message.new"', wait=5)[-1].removeprefix("data: ")
            )
            assert frame["message"]["body"] == body and time.monotonic() - started < 5
        assert "event: heartbeat" in event_lines(response, "event: heartbeat", wait=5)  # every 1 s here
