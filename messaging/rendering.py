"""Server-rendered HTML for events, from the same partials the pages use.

Rendered once per event (never per recipient), from the event's JSON payload, so the page,
live delivery and catch-up share one rendering path.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

MESSAGE_TEMPLATE = "messaging/_message.html"


def event_html(type: str, payload: dict[str, Any]) -> str | None:
    if type == "message.new":
        return render_to_string(MESSAGE_TEMPLATE, {"m": payload["message"]})
    return None
