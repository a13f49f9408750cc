"""The event-kind table for the web page (chat.js reads it from the page, not from a copy), and
how long its person may be idle before the page reports them away."""

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
    return {"event_kinds_json": _table(), "presence_away_seconds": settings.PRESENCE_AWAY_SECONDS}
