"""The only module that talks to the channel layer.

Cross-process traffic is one channel-layer message per server process per event: every
process's hub (``chatsite.realtime.fanout``) listens on its own channel, and all of them are in
``PROCESS_GROUP``. The event is encoded here, once — as plain JSON for API clients and, when its
kind has a template, once more with the rendered ``html`` for the web page — and each hub writes
those exact bytes to its local sockets.

Two lanes share that path:

* **stored** events are published after their transaction commits, in ``seq`` order, by the
  event writers (``chatsite.realtime.events``);
* **ephemeral** events (``ephemeral_publish``, from sync code, or ``ephemeral_publish_async``,
  from a consumer's own loop) have no ``seq``: no lock, no database, nothing to replay.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from asgiref.sync import async_to_sync
from channels import DEFAULT_CHANNEL_LAYER
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer

from chatsite.realtime import kinds
from chatsite.realtime.kinds import Audience, EventKind
from chatsite.realtime.rendering import event_html

if TYPE_CHECKING:
    from chatsite.realtime.models import Event

PROCESS_GROUP = "parley.processes"
HUB_MESSAGE_TYPE = "parley.event"
# Several events in one layer message (a group commit of sends), dispatched in order.
HUB_BATCH_TYPE = "parley.events"
# Not an event (no seq, nothing to replay): close these users' sockets in every process.
HUB_ACCOUNTS_CLOSED_TYPE = "parley.accounts_closed"
# Not an event: these users' "appear offline" setting changed ({"users": {id: hidden}}).
HUB_PRESENCE_HIDDEN_TYPE = "parley.presence_hidden"


def encode(frame: dict[str, Any]) -> str:
    return json.dumps(frame, separators=(",", ":"), ensure_ascii=False)


def encode_event(kind: EventKind, seq: int | None, payload: dict[str, Any]) -> tuple[str, str | None]:
    """(plain frame, frame with ``html``) as text; the second is None when the kind has no HTML."""
    frame = kind.frame(seq, payload)
    html = event_html(kind, payload)
    return encode(frame), (encode({**frame, "html": html}) if html is not None else None)


def hub_message(event: Event) -> dict[str, Any]:
    text, html_text = encode_event(kinds.get(event.type), event.seq, event.payload)
    return {
        "type": HUB_MESSAGE_TYPE,
        "room": event.room_id,
        "seq": event.seq,
        "kind": event.type,
        "subject": event.subject_id,
        "text": text,
        "html": html_text,
    }


def ephemeral_message(
    kind: EventKind,
    payload: dict[str, Any],
    *,
    room_id: int | None = None,
    users: Iterable[int] = (),
    room_ids: Iterable[int] = (),
    exclude_user: int | None = None,
) -> dict[str, Any]:
    """The hub message of an ephemeral event, encoded once: to a room's sockets (``room_id``;
    for an OPEN_ROOM kind, those that have it open), to several rooms' (``room_ids``, a ROOMS
    kind) or to named users' (``users``), leaving out ``exclude_user``'s own sockets (e.g. the
    typist)."""
    if kind.stored:
        raise ValueError(f"{kind.name} is stored: record it in its service (events.event_record)")
    by_room = kind.audience in (Audience.ROOM, Audience.OPEN_ROOM)
    if by_room != (room_id is not None):
        raise ValueError(f"{kind.name} is heard by {kind.audience}: pass room_id only for a room kind")
    text, html_text = encode_event(kind, None, payload)
    return {
        "type": HUB_MESSAGE_TYPE,
        "room": room_id,
        "users": sorted(set(users)),
        "rooms": sorted(set(room_ids)),
        "exclude": exclude_user,
        "seq": None,
        "kind": kind.name,
        "subject": None,
        "text": text,
        "html": html_text,
    }


class _Publisher:
    """A private event loop on a daemon thread, with its own channel-layer instance, through
    which synchronous service code hands events to a networked layer (Redis).

    Why not ``async_to_sync``: called from a worker thread, it runs the send on the server's
    main event loop, where it queues behind the fan-out writes that loop is busy with, while
    the caller holds the publication lock (``chatsite.realtime.events``) and so blocks every writer in
    the cluster. On its own loop the send costs one Redis round trip.
    """

    TIMEOUT = 5.0

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._layer: Any = None
        self._pid = 0

    def group_send(self, group: str, message: dict[str, Any]) -> None:
        loop, layer = self._ensure()
        asyncio.run_coroutine_threadsafe(layer.group_send(group, message), loop).result(timeout=self.TIMEOUT)

    def _ensure(self) -> tuple[asyncio.AbstractEventLoop, Any]:
        with self._lock:
            alive = self._thread is not None and self._thread.is_alive()
            if self._loop is None or not alive or self._pid != os.getpid():
                loop = asyncio.new_event_loop()
                self._thread = threading.Thread(target=loop.run_forever, name="parley-publisher", daemon=True)
                self._thread.start()
                self._loop, self._pid = loop, os.getpid()
                self._layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
            return self._loop, self._layer


_publisher = _Publisher()


def _group_send(message: dict[str, Any]) -> None:
    layer = get_channel_layer()
    if isinstance(layer, InMemoryChannelLayer):
        # Its state lives in this one instance and its loop (the embedded single-process mode).
        async_to_sync(layer.group_send)(PROCESS_GROUP, message)
    else:
        _publisher.group_send(PROCESS_GROUP, message)


def event_published(event: Event) -> None:
    """Hand a committed event to every server process (called on commit, in seq order)."""
    _group_send(hub_message(event))


def events_published(events: list[Event]) -> None:
    """Hand several committed events, in seq order, to every server process in one message."""
    if len(events) == 1:
        event_published(events[0])
        return
    _group_send({"type": HUB_BATCH_TYPE, "events": [hub_message(event) for event in events]})


def ephemeral_publish(kind: EventKind, payload: dict[str, Any], **audience: Any) -> None:
    """Publish an ephemeral event from sync code (a service, a view): no lock, no database."""
    _group_send(ephemeral_message(kind, payload, **audience))


@dataclass(frozen=True)
class Ephemeral:
    """One ephemeral event to publish: its kind, payload and audience (``ephemeral_message``'s
    keyword arguments)."""

    kind: EventKind
    payload: dict[str, Any]
    audience: dict[str, Any]


def ephemeral_publish_many(events: list[Ephemeral]) -> None:
    """Publish several ephemeral events from sync code in one channel-layer message."""
    messages = [ephemeral_message(e.kind, e.payload, **e.audience) for e in events]
    _group_send(messages[0] if len(messages) == 1 else {"type": HUB_BATCH_TYPE, "events": messages})


async def ephemeral_publish_async(kind: EventKind, payload: dict[str, Any], **audience: Any) -> None:
    """Publish an ephemeral event from async code (a consumer), on the running loop's layer."""
    await get_channel_layer().group_send(PROCESS_GROUP, ephemeral_message(kind, payload, **audience))


def presence_hidden(hidden: dict[int, bool]) -> None:
    """Tell every server process that these users' "appear offline" setting changed."""
    _group_send({"type": HUB_PRESENCE_HIDDEN_TYPE, "users": {str(u): h for u, h in hidden.items()}})


def accounts_closed(user_ids: list[int]) -> None:
    """Tell every server process to close the sockets of these (deactivated) users."""
    _group_send({"type": HUB_ACCOUNTS_CLOSED_TYPE, "users": sorted(user_ids)})
