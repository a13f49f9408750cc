"""The event-kind table for the web page (chat.js reads it from the page, not from a copy)."""

from __future__ import annotations

import json
from functools import cache

from django.http import HttpRequest

from chatsite.realtime import kinds


@cache
def _table() -> str:
    return json.dumps(kinds.client_table(), separators=(",", ":"))


def event_kinds(request: HttpRequest) -> dict[str, str]:
    return {"event_kinds_json": _table()}
