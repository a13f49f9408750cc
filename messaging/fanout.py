"""Process-local fan-out: one channel-layer reader per process, one encoded frame per event.

Each server process runs one ``Hub`` (per event loop). The hub owns one channel on the channel
layer, joined to ``broadcasts.PROCESS_GROUP``, so every event crosses processes exactly once per
process. It keeps an in-memory registry of its local sockets by room and by user, and writes the
event's pre-encoded text straight to each local socket in the room: no per-recipient trip
through the layer, no per-recipient encoding, no database work on delivery.

Permissions are checked when a socket subscribes (its rooms come from the database on
connect) and kept current by membership events, which the hub applies to the registry as they
pass: a user who joins starts receiving the room at once; one who leaves or is removed gets
that event and nothing after it.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Iterable
from typing import Any, Protocol

from channels.layers import get_channel_layer

from messaging.broadcasts import HUB_BATCH_TYPE, HUB_MESSAGE_TYPE, PROCESS_GROUP

logger = logging.getLogger(__name__)

MEMBER_JOINED = "member.joined"
MEMBER_GONE = frozenset({"member.left", "member.removed"})
# channels-redis forgets group members after group_expiry (30 min in settings), so a dead
# process stops receiving; live hubs re-join (idempotent) well before that.
GROUP_REFRESH_SECONDS = 600


class LocalSocket(Protocol):
    user_id: int
    rooms: set[int]
    wants_html: bool

    async def deliver(self, seq: int | None, text: str) -> None: ...

    def membership_changed(self, kind: str, room_id: int, seq: int) -> None: ...

    async def reconnect_required(self) -> None: ...


class HubUnavailable(RuntimeError):
    pass


class Hub:
    def __init__(self) -> None:
        self.by_room: dict[int, set[LocalSocket]] = defaultdict(set)
        self.by_user: dict[int, set[LocalSocket]] = defaultdict(set)
        self.channel_name: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self.delivered = 0  # frames written, for diagnostics and benchmarks

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the reader once; raise if it cannot subscribe (e.g. Redis is down)."""
        if self._task is None or self._task.done():
            self._started = asyncio.Event()
            self._task = asyncio.create_task(self._run(), name="parley-hub")
        if self._started.is_set():
            return
        started = asyncio.ensure_future(self._started.wait())
        await asyncio.wait({started, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not self._started.is_set():
            started.cancel()
            raise HubUnavailable("the channel layer is unavailable") from self._task.exception()

    async def _run(self) -> None:
        layer = get_channel_layer()
        # The default "specific" prefix on purpose: channels-redis runs one receive loop per
        # process, popping one Redis key at a time, and every channel named "specific.<proc>!*"
        # shares that key. A hub channel with its own prefix lived under a second key, and
        # while any other receiver held the loop (a 5 s BZPOPMIN) hub events waited.
        self.channel_name = await layer.new_channel()
        await layer.group_add(PROCESS_GROUP, self.channel_name)
        self._started.set()
        refresh = asyncio.get_running_loop().time() + GROUP_REFRESH_SECONDS
        while True:
            try:
                message = await layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Events may have been lost while the layer was unreachable. Local sockets
                # cannot know what they missed, so ask them to reconnect: they catch up by seq.
                logger.exception("hub receive failed; asking local sockets to reconnect")
                await self.drop_all_sockets()
                await asyncio.sleep(0.5)
                continue
            kind = message.get("type")
            events = (
                [message]
                if kind == HUB_MESSAGE_TYPE
                else message.get("events", [])
                if kind == HUB_BATCH_TYPE
                else []
            )
            for event in events:
                try:
                    await self.dispatch(event)
                except Exception:
                    logger.exception("hub dispatch failed for seq %s", event.get("seq"))
            if asyncio.get_running_loop().time() > refresh:
                await layer.group_add(PROCESS_GROUP, self.channel_name)
                refresh = asyncio.get_running_loop().time() + GROUP_REFRESH_SECONDS

    async def drop_all_sockets(self) -> None:
        for sockets in list(self.by_user.values()):
            for socket in list(sockets):
                await socket.reconnect_required()

    # -- registry -------------------------------------------------------------------------------

    def register(self, socket: LocalSocket) -> None:
        """Make the socket reachable by membership events for its user (before it has rooms)."""
        self.by_user[socket.user_id].add(socket)

    def attach(self, socket: LocalSocket, room_ids: Iterable[int]) -> None:
        for room_id in room_ids:
            socket.rooms.add(room_id)
            self.by_room[room_id].add(socket)

    def detach(self, socket: LocalSocket, room_id: int) -> None:
        socket.rooms.discard(room_id)
        members = self.by_room.get(room_id)
        if members is not None:
            members.discard(socket)
            if not members:
                del self.by_room[room_id]

    def unregister(self, socket: LocalSocket) -> None:
        for room_id in list(socket.rooms):
            self.detach(socket, room_id)
        sockets = self.by_user.get(socket.user_id)
        if sockets is not None:
            sockets.discard(socket)
            if not sockets:
                del self.by_user[socket.user_id]

    def local_sockets(self, room_id: int) -> int:
        return len(self.by_room.get(room_id, ()))

    # -- delivery -------------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        room_id: int = message["room"]
        kind: str = message["kind"]
        seq: int | None = message.get("seq")
        subject: int | None = message.get("subject")
        subject_sockets = tuple(self.by_user.get(subject, ())) if subject is not None else ()

        if kind == MEMBER_JOINED:
            for socket in subject_sockets:
                self.attach(socket, (room_id,))
                socket.membership_changed(kind, room_id, seq or 0)

        sockets = self.by_room.get(room_id)
        if sockets:
            text: str = message["text"]
            html: str | None = message.get("html")
            for socket in tuple(sockets):
                await socket.deliver(seq, html if (html is not None and socket.wants_html) else text)
            self.delivered += len(sockets)

        if kind in MEMBER_GONE:
            for socket in subject_sockets:
                self.detach(socket, room_id)
                socket.membership_changed(kind, room_id, seq or 0)


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


async def get_hub() -> Hub:
    """The running event loop's hub, started on first use (one per server process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    await hub.start()
    return hub
