"""The attack battery's auth part: forged and stale JWTs on REST and on the WebSocket's ticket
path, CSRF on every form-handling URL (generated from the URL conf), and the settings that
keep refresh tokens single-use. Existing neighbours: test_api.py (rotation, logout),
test_throttling.py (forwarded addresses), test_ws_auth.py (tickets, Origin),
tests/test_security_headers.py (production cookies and headers)."""

from __future__ import annotations

import base64
import json
import re
from datetime import timedelta

import jwt
import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.authentication import SessionAuthentication
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from chatsite.asgi import application
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forged(kind: str, user, other) -> str:
    """An access token for ``user`` spoiled in one way (``kind``)."""
    good = str(AccessToken.for_user(user))
    header, payload, signature = good.split(".")
    claims = _claims(good)
    key = settings.SECRET_KEY
    if kind == "alg none":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}."
    if kind == "alg none, no dot":
        return f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}"
    if kind == "other user, same signature":
        return f"{header}.{_b64(claims | {'user_id': str(other.id)})}.{signature}"
    if kind == "signature flipped":
        return f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}"
    if kind == "signed with another key":
        return jwt.encode(claims, "not-the-secret-key-but-long-enough-for-hs256!", algorithm="HS256")
    if kind == "other algorithm, right key":
        return jwt.encode(claims, key, algorithm="HS512")
    if kind == "expired":
        stale = AccessToken.for_user(user)
        stale.set_exp(lifetime=-timedelta(seconds=1))
        return str(stale)
    if kind == "not yet valid":
        return jwt.encode(claims | {"nbf": claims["iat"] + 3600}, key, algorithm="HS256")
    if kind == "a refresh token":
        return str(RefreshToken.for_user(user))
    if kind == "no user":
        return jwt.encode({k: v for k, v in claims.items() if k != "user_id"}, key, algorithm="HS256")
    raise AssertionError(kind)


FORGERIES = [
    "alg none",
    "alg none, no dot",
    "other user, same signature",
    "signature flipped",
    "signed with another key",
    "other algorithm, right key",
    "expired",
    "not yet valid",
    "a refresh token",
    "no user",
]


def test_a_valid_access_token_is_accepted(api, make_user):
    """The control for the forgeries below: the same requests with the real token succeed."""
    user = make_user("alice", password=None)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}")
    assert api.get("/api/auth/me/").status_code == 200
    assert api.post("/api/auth/ws-ticket/").status_code == 201


@pytest.mark.parametrize("kind", FORGERIES)
def test_forged_or_stale_access_tokens_are_refused_on_rest_and_get_no_ws_ticket(api, make_user, kind):
    user, other = make_user("alice", password=None), make_user("mallory", password=None)
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {forged(kind, user, other)}")
    me = api.get("/api/auth/me/")
    assert me.status_code == 401, me.content
    assert me.json()["code"]  # the documented error shape, not a traceback
    # The WebSocket's only bearer path is a ticket, and a ticket needs a valid token.
    assert api.post("/api/auth/ws-ticket/").status_code == 401


@pytest.mark.parametrize("kind", ["a valid access token", *FORGERIES])
@pytest.mark.django_db(transaction=True)
async def test_a_jwt_is_not_a_websocket_credential(make_user, kind):
    """Tokens go to REST; a socket takes a single-use ticket (or the session cookie). A JWT put
    where the ticket goes, or in a ``token`` parameter, opens nothing: not even a valid one."""
    user = await database_sync_to_async(make_user)("alice", password=None)
    other = await database_sync_to_async(make_user)("mallory", password=None)
    if kind == "a valid access token":
        token = str(AccessToken.for_user(user))
    else:
        token = await database_sync_to_async(forged)(kind, user, other)
    for path in (f"/ws/?ticket={token}", f"/ws/?token={token}"):
        communicator = WebsocketCommunicator(application, path)
        connected, _ = await communicator.connect(timeout=5)
        assert not connected, path
        await communicator.disconnect()


@pytest.mark.parametrize("kind", ["alg none", "signature flipped", "expired", "signed with another key"])
def test_forged_refresh_tokens_are_refused(api, make_user, kind):
    user = make_user("alice", password=None)
    refresh = RefreshToken.for_user(user)
    header, payload, signature = str(refresh).split(".")
    claims = _claims(str(refresh))
    token = {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "signature flipped": f"{header}.{payload}.{signature[:-2]}{'AA' if signature[-2:] != 'AA' else 'BB'}",
        "expired": jwt.encode(claims | {"exp": claims["iat"] - 1}, settings.SECRET_KEY, algorithm="HS256"),
        "signed with another key": jwt.encode(
            claims, "another-key-another-key-another-key!", algorithm="HS256"
        ),
    }[kind]
    assert api.post("/api/auth/token/refresh/", {"refresh": token}, format="json").status_code == 401
    assert api.post("/api/auth/token/refresh/", {"refresh": str(refresh)}, format="json").status_code == 200


def test_refresh_tokens_are_single_use_by_configuration():
    """test_api.py shows rotation and reuse refused; this pins the settings that make it so."""
    assert settings.SIMPLE_JWT["ROTATE_REFRESH_TOKENS"] is True
    assert settings.SIMPLE_JWT["BLACKLIST_AFTER_ROTATION"] is True
    assert "rest_framework_simplejwt.token_blacklist" in settings.INSTALLED_APPS
    assert settings.SIMPLE_JWT.get("ALGORITHM", "HS256") == "HS256"


def test_a_rotated_refresh_token_reused_after_logout_stays_refused(api, make_user):
    make_user("alice")
    first = api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()
    second = api.post("/api/auth/token/refresh/", {"refresh": first["refresh"]}, format="json").json()
    assert api.post("/api/auth/logout/", {"refresh": second["refresh"]}, format="json").status_code == 205
    for stale in (first["refresh"], second["refresh"]):
        assert api.post("/api/auth/token/refresh/", {"refresh": stale}, format="json").status_code == 401
        assert api.post("/api/auth/logout/", {"refresh": stale}, format="json").status_code in (400, 401)


# --- CSRF on every URL that takes a POST ----------------------------------------------------------


def _sample_path(route: str) -> str:
    """A concrete path for a route: every converter filled with something it accepts."""
    return re.sub(r"<(?:(\w+):)?\w+>", lambda m: "x" if m.group(1) in ("str", "slug", "path") else "1", route)


def every_route(resolvers=None, prefix: str = "") -> list[tuple[str, URLPattern]]:
    """(sample path, pattern) of every path() in the URL conf, admin included."""
    out = []
    for entry in resolvers if resolvers is not None else get_resolver().url_patterns:
        route = str(entry.pattern)
        if isinstance(entry, URLResolver):
            out += every_route(entry.url_patterns, prefix + route)
        elif not route.startswith("^"):  # re_path() catch-alls: nothing to post to
            out.append(("/" + _sample_path(prefix + route), entry))
    return out


def _uses_the_session(pattern: URLPattern) -> bool:
    """Whether a view would act on the browser's ambient cookie. Django views all do; DRF views
    only when they accept SessionAuthentication (DRF then applies CSRF itself)."""
    view_class = getattr(pattern.callback, "cls", None) or getattr(pattern.callback, "view_class", None)
    classes = getattr(view_class, "authentication_classes", None)
    if classes is None:
        return True
    return any(issubclass(c, SessionAuthentication) for c in classes)


def test_every_post_without_a_csrf_token_is_refused(make_user, make_room):
    """Generated from the URL conf, so a new form is covered without editing this test. A
    logged-in browser (staff, so the admin's forms answer too) posts to every route with no
    token: each must be refused with CSRF's 403 (DRF's, with its message, on the API), before
    any view runs."""
    staff = make_user("staff", is_staff=True, is_superuser=True)
    make_room(staff)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    routes = every_route()
    checked, exempt = [], []
    for path, pattern in routes:
        if not _uses_the_session(pattern):
            exempt.append(path)
            continue
        # Every unsafe method on the API (its views take PUT, PATCH and DELETE); POST elsewhere.
        methods = ("post", "put", "patch", "delete") if path.startswith("/api/") else ("post",)
        for method in methods:
            response = getattr(client, method)(path, {"name": "x", "body": "x", "password": "x"})
            assert response.status_code == 403, (method, path, response.status_code)
            if response.get("Content-Type", "").startswith("application/json"):
                assert "CSRF" in response.json()["detail"], (method, path, response.json())
        checked.append(path)
    # The session is still there (a refused post changed nothing) and the routes were many.
    assert client.get("/").status_code == 200
    assert len(checked) >= 60, checked
    assert {
        "/login/",
        "/register/",
        "/logout/",
        "/r/1/send/",
        "/account/password/",
        "/account/delete/",
    } <= set(checked)
    # Only token-based API endpoints skip it: they never read the session cookie.
    assert all(path.startswith("/api/") for path in exempt), exempt
