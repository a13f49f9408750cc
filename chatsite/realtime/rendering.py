"""Server-rendered HTML for events, from the same partials the pages use.

Rendered once per event (never per recipient), from the event's JSON payload with the kind's
template (declared in ``chatsite.realtime.kinds``), so the page, live delivery and catch-up
share one rendering path.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string

from chatsite.realtime.kinds import EventKind


def event_html(kind: EventKind, payload: dict[str, Any]) -> str | None:
    if kind.template is None:
        return None
    return render_to_string(kind.template, payload)
