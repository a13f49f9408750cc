"""WebSocket authentication: a single-use ticket, or the browser's session cookie.

* ``/ws/?ticket=...`` — for API clients. The ticket is a bearer credential obtained by an
  authenticated ``POST /api/auth/ws-ticket/``, so no Origin check is needed (nor possible for
  non-browser clients, which send none).
* otherwise the session cookie — only from an allowed Origin, because a cookie is ambient: any
  page the user visits could otherwise open a socket as them (cross-site WebSocket hijacking).

Either way ``scope["user"]`` is set; the consumer refuses anonymous users.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import ParseResult, parse_qs, urlparse

from channels.auth import AuthMiddlewareStack
from channels.db import database_sync_to_async
from channels.security.websocket import AllowedHostsOriginValidator
from django.contrib.auth.models import AnonymousUser

from accounts import services


def query_param(scope: dict[str, Any], name: str) -> str | None:
    values = parse_qs(scope.get("query_string", b"").decode("latin1")).get(name)
    return values[0] if values else None


def request_origin(scope: dict[str, Any]) -> ParseResult | None:
    for name, value in scope.get("headers", []):
        if name == b"origin":
            try:
                return urlparse(value.decode("latin1"))
            except (UnicodeDecodeError, ValueError):
                return None
    return None


async def refuse_handshake(receive: Any, send: Any) -> None:
    """Answer the handshake with 403. Channels' own denier is a consumer, which opens a
    channel-layer channel (a Redis receive) for every refused socket; this opens nothing."""
    if (await receive())["type"] == "websocket.connect":
        await send({"type": "websocket.close"})


class WebSocketAuthMiddleware:
    def __init__(self, inner: Any) -> None:
        self.ticket_app = inner
        self.cookie_app = AuthMiddlewareStack(inner)
        # Only its valid_origin() is used: channels' rules for origins from ALLOWED_HOSTS.
        self.origins = AllowedHostsOriginValidator(inner)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        ticket = query_param(scope, "ticket")
        if ticket is None:
            if not self.origins.valid_origin(request_origin(scope)):
                return await refuse_handshake(receive, send)
            return await self.cookie_app(scope, receive, send)
        user = await database_sync_to_async(services.ws_ticket_redeem)(ticket=ticket)
        scope = dict(scope, user=user or AnonymousUser())
        return await self.ticket_app(scope, receive, send)
