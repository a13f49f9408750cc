"""What the web page's socket code reads from the page: the event-kind table (not a copy of
it), the ping/pong deadline that finds a hung connection, and how long its person may be idle
before the page reports them away."""

from __future__ import annotations

import json
from functools import cache

from django.conf import settings
from django.http import HttpRequest

from chatsite.realtime import kinds


@cache
def _table() -> str:
    return json.dumps(kinds.client_table(), separators=(",", ":"))


def event_kinds(request: HttpRequest) -> dict[str, object]:
    return {
        "event_kinds_json": _table(),
        "ws_ping_ms": settings.WS_PING_INTERVAL_MS,
        "ws_pong_ms": settings.WS_PONG_TIMEOUT_MS,
        "ws_fallback_after": settings.WS_FALLBACK_AFTER,
        "ws_retry_ms": settings.WS_RETRY_MS,
        "sse_heartbeat_ms": round(settings.SSE_HEARTBEAT_SECONDS * 1000),
        "presence_away_seconds": settings.PRESENCE_AWAY_SECONDS,
    }
