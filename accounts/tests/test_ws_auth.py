"""WebSocket authentication: tickets (single use, short-lived) and Origin-checked cookies."""

import asyncio
from datetime import timedelta

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.utils import timezone

from accounts import services
from accounts.models import WsTicket
from chatsite.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(path: str, headers: list[tuple[bytes, bytes]] | None = None):
    communicator = WebsocketCommunicator(application, path, headers=headers or [])
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_ticket_opens_a_socket_exactly_once(make_user):
    user = await database_sync_to_async(make_user)("tina")
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=user)

    first, connected, _ = await connect(f"/ws/?ticket={ticket}")
    assert connected
    hello = await first.receive_json_from(timeout=5)
    assert hello["user"]["username"] == "tina"
    await first.disconnect()

    _, reused, _ = await connect(f"/ws/?ticket={ticket}")
    assert not reused


async def test_expired_ticket_is_refused(make_user):
    user = await database_sync_to_async(make_user)("tina")
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=user)
    await database_sync_to_async(WsTicket.objects.update)(expires_at=timezone.now() - timedelta(seconds=1))
    _, connected, _ = await connect(f"/ws/?ticket={ticket}")
    assert not connected


@pytest.mark.parametrize("ticket", ["forged-ticket-value", "", "x" * 500])
async def test_forged_ticket_is_refused(ticket):
    _, connected, _ = await connect(f"/ws/?ticket={ticket}")
    assert not connected


async def test_ticket_of_deactivated_user_is_refused(make_user):
    user = await database_sync_to_async(make_user)("tina", is_active=False)
    ticket = await database_sync_to_async(services.ws_ticket_issue)(user=user)
    _, connected, _ = await connect(f"/ws/?ticket={ticket}")
    assert not connected


async def test_no_credentials_is_refused():
    _, connected, _ = await connect("/ws/", headers=[(b"origin", b"http://127.0.0.1:8000")])
    assert not connected


def _session_cookie(user) -> bytes:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"sessionid={session.session_key}".encode()


async def test_session_cookie_from_own_origin_is_accepted(make_user):
    user = await database_sync_to_async(make_user)("sam")
    cookie = await database_sync_to_async(_session_cookie)(user)
    communicator, connected, _ = await connect(
        "/ws/",
        headers=[(b"origin", b"http://127.0.0.1:8000"), (b"host", b"127.0.0.1:8000"), (b"cookie", cookie)],
    )
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["user"]["username"] == "sam"
    await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", None])
async def test_session_cookie_from_foreign_or_missing_origin_is_refused(make_user, origin):
    user = await database_sync_to_async(make_user)("sam")
    cookie = await database_sync_to_async(_session_cookie)(user)
    headers = [(b"cookie", cookie)] + ([(b"origin", origin)] if origin else [])
    communicator, connected, _ = await connect("/ws/", headers=headers)
    assert not connected
    # The refusal is complete, with nothing left running. Channels' WebsocketDenier went on
    # waiting on a channel-layer channel of its own (a Redis receive per refused socket), whose
    # cancellation could hang a test's teardown.
    await asyncio.wait_for(asyncio.shield(communicator.future), timeout=2)


@pytest.mark.parametrize(
    ("origin", "host", "trusted", "accepted"),
    [
        (b"http://127.0.0.1:8000", b"127.0.0.1:8000", [], True),
        (b"http://localhost", b"localhost:80", [], True),  # default port, written or not
        (b"https://127.0.0.1:8000", b"127.0.0.1:8000", [], False),  # other scheme
        (b"http://127.0.0.1:9000", b"127.0.0.1:8000", [], False),  # other port
        (b"http://localhost:8000", b"127.0.0.1:8000", [], False),  # another allowed host, not this one
        (b"http://evil.example", b"evil.example", [], False),  # a host we do not serve
        (b"http://127.0.0.1:8000/path", b"127.0.0.1:8000", [], False),  # not an origin
        (b"null", b"127.0.0.1:8000", [], False),
        (b"", b"127.0.0.1:8000", [], False),  # present but empty
        # Look-alikes of a served host: a prefix, a suffix, a subdomain, a userinfo trick.
        (b"http://evil-parley.example", b"parley.example", [], False),
        (b"http://parley.example.evil.example", b"parley.example", [], False),
        (b"http://evil.parley.example", b"parley.example", [], False),
        (b"http://parley.example@evil.example", b"parley.example", [], False),
        (b"http://PARLEY.example", b"parley.example", [], True),  # host names are case-insensitive
        (b"ws://parley.example", b"parley.example", [], False),  # not a page's scheme
        (b"https://evil-chat.example.com", b"127.0.0.1:8000", ["https://chat.example.com"], False),
        (b"https://chat.example.com:8443", b"127.0.0.1:8000", ["https://chat.example.com"], False),
        (b"https://chat.example.com", b"127.0.0.1:8000", ["https://chat.example.com"], True),
        (b"http://chat.example.com", b"127.0.0.1:8000", ["https://chat.example.com"], False),
    ],
)
async def test_cookie_socket_origin_must_be_this_sites_full_origin(
    make_user, settings, origin, host, trusted, accepted
):
    settings.CSRF_TRUSTED_ORIGINS = trusted
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "parley.example"]
    user = await database_sync_to_async(make_user)("sam", password=None)  # no Argon2 per case
    cookie = await database_sync_to_async(_session_cookie)(user)
    headers = [(b"origin", origin), (b"host", host), (b"cookie", cookie)]
    communicator, connected, _ = await connect("/ws/", headers=headers)
    assert connected is accepted
    if connected:
        await communicator.disconnect()
