"""The only module that talks to the channel layer.

Cross-process traffic is one channel-layer message per server process per event: every
process's hub (``messaging.fanout``) listens on its own channel, and all of them are in
``PROCESS_GROUP``. The event is encoded here, once — as plain JSON for API clients and, when it
has an HTML rendering, once more with it for the web page — and each hub writes those exact
bytes to its local sockets.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

if TYPE_CHECKING:
    from messaging.models import Event

PROCESS_GROUP = "parley.processes"
HUB_MESSAGE_TYPE = "parley.event"
# Several events in one layer message (a group commit of sends), dispatched in order.
HUB_BATCH_TYPE = "parley.events"


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def encode_event(type: str, seq: int | None, payload: dict[str, Any]) -> tuple[str, str | None]:
    """(plain frame, frame with ``html``) as text; the second is None when there is no HTML."""
    from messaging.rendering import event_html

    frame: dict[str, Any] = {"type": type, "seq": seq, **payload}
    html = event_html(type, payload)
    return encode(frame), (encode({**frame, "html": html}) if html is not None else None)


def hub_message(event: Event) -> dict[str, Any]:
    text, html_text = encode_event(event.type, event.seq, event.payload)
    return {
        "type": HUB_MESSAGE_TYPE,
        "room": event.room_id,
        "seq": event.seq,
        "kind": event.type,
        "subject": event.subject_id,
        "text": text,
        "html": html_text,
    }


def event_published(event: Event) -> None:
    """Hand a committed event to every server process (called on commit, in seq order)."""
    async_to_sync(get_channel_layer().group_send)(PROCESS_GROUP, hub_message(event))


def events_published(events: list[Event]) -> None:
    """Hand several committed events, in seq order, to every server process in one message."""
    if len(events) == 1:
        event_published(events[0])
        return
    batch = {"type": HUB_BATCH_TYPE, "events": [hub_message(event) for event in events]}
    async_to_sync(get_channel_layer().group_send)(PROCESS_GROUP, batch)
