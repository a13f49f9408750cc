"""WebSocket authentication: a single-use ticket, or the browser's session cookie.

* ``/ws/?ticket=...`` — for API clients. The ticket is a bearer credential obtained by an
  authenticated ``POST /api/auth/ws-ticket/``, so no Origin check is needed (nor possible for
  non-browser clients, which send none).
* otherwise the session cookie — only from this site's own Origin, because a cookie is ambient: any
  page the user visits could otherwise open a socket as them (cross-site WebSocket hijacking).

Either way ``scope["user"]`` is set; the consumer refuses anonymous users.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.http.request import split_domain_port, validate_host
from rest_framework.exceptions import AuthenticationFailed
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken, TokenError

from accounts import services


def query_param(scope: dict[str, Any], name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get(name)
    return values[0] if values else None


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return None


_DEFAULT_PORTS = {"http": 80, "https": 443}


def _origin_tuple(url: str) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin, default ports filled in; None if it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname or parts.path not in ("", "/"):
        return None
    return scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[scheme]


def _is_secure(scope: dict[str, Any]) -> bool:
    if scope.get("scheme") == "wss":
        return True
    proxy_header = getattr(settings, "SECURE_PROXY_SSL_HEADER", None)
    if proxy_header:
        name, expected = proxy_header
        meta = name.removeprefix("HTTP_").lower().replace("_", "-").encode("latin1")
        return _header(scope, meta) == expected
    return False


def origin_allowed(scope: dict[str, Any]) -> bool:
    """The full origin (scheme, host and port) of a cookie-authenticated socket must be this
    site's own: the page's origin equals the socket's ``Host`` (one of ``ALLOWED_HOSTS``) with
    the page's scheme, or it is listed in ``CSRF_TRUSTED_ORIGINS`` — the rule Django's CSRF
    check applies to form posts."""
    origin = _header(scope, b"origin")
    claimed = _origin_tuple(origin) if origin else None
    if claimed is None:
        return False
    if any(_origin_tuple(trusted) == claimed for trusted in settings.CSRF_TRUSTED_ORIGINS):
        return True
    host = _header(scope, b"host")
    if not host:
        return False
    domain, _port = split_domain_port(host)
    if not domain or not validate_host(domain, settings.ALLOWED_HOSTS):
        return False
    return _origin_tuple(f"{'https' if _is_secure(scope) else 'http'}://{host}") == claimed


async def refuse_handshake(receive: Any, send: Any) -> None:
    """Answer the handshake with 403. Channels' own denier is a consumer, which opens a
    channel-layer channel (a Redis receive) for every refused socket; this opens nothing."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


class WebSocketAuthMiddleware:
    # A page on another site can make the browser open a socket with this site's cookie and
    # read it. The event stream (an HTTP GET, ``EventStreamAuthMiddleware``) needs no such check:
    # a cross-site page cannot read a response the browser's CORS check keeps from it.
    check_origin = True

    def __init__(self, inner: Any) -> None:
        self.ticket_app = inner
        self.cookie_app = AuthMiddlewareStack(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        ticket = query_param(scope, "ticket")
        if ticket is None:
            if self.check_origin and not origin_allowed(scope):
                return await refuse_handshake(receive, send)
            return await self.cookie_app(scope, receive, send)
        user = await database_sync_to_async(services.ws_ticket_redeem)(ticket=ticket)
        scope = dict(scope, user=user or AnonymousUser())
        return await self.ticket_app(scope, receive, send)


class EventStreamAuthMiddleware(WebSocketAuthMiddleware):
    """The same credentials for ``/events/stream/`` (Server-Sent Events): a ticket, or the
    session cookie from any page of this site (EventSource sends no Origin on a same-origin GET);
    and, since an HTTP client can send headers, ``Authorization: Bearer <JWT>`` as the REST API."""

    check_origin = False

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        authorization = _header(scope, b"authorization")
        if authorization is None or query_param(scope, "ticket") is not None:
            return await super().__call__(scope, receive, send)
        user = await database_sync_to_async(_jwt_user)(authorization)
        return await self.ticket_app(dict(scope, user=user or AnonymousUser()), receive, send)


def _jwt_user(authorization: str) -> Any:
    """The active user of a valid ``Bearer`` access token (as the REST API checks it), or None."""
    scheme, _, raw = authorization.partition(" ")
    if scheme != "Bearer" or not raw:
        return None
    authentication = JWTAuthentication()
    try:
        return authentication.get_user(authentication.get_validated_token(raw.encode("latin1")))
    except (InvalidToken, AuthenticationFailed, TokenError):
        return None
