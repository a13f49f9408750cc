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

Every event reaches every hub, in ``seq`` order (``chatsite.realtime.events``), so a hub can tell when
one did not arrive: a publish that failed after its commit, or a message the layer dropped.
It then reads the missing events from the database and delivers them before the one that
revealed the gap; when the stream is quiet it checks the latest recorded ``seq`` every
``GAP_CHECK_SECONDS``, so a lost last event is not left waiting for the next one. Holes that
no event fills (a rolled-back transaction's seq) cost one query. Too many to replay, and the
hub asks its sockets to reconnect and resync, as when it loses the layer.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import defaultdict
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

from chatsite.realtime import broadcasts, kinds, selectors
from chatsite.realtime.broadcasts import (
    HUB_ACCOUNTS_CLOSED_TYPE,
    HUB_BATCH_TYPE,
    HUB_MESSAGE_TYPE,
    HUB_PRESENCE_HIDDEN_TYPE,
    PROCESS_GROUP,
    hub_message,
)
from chatsite.realtime.kinds import Audience, Subscription
from chatsite.realtime.presence import ProcessPresence, presence_changes, presence_of

logger = logging.getLogger(__name__)

# channels-redis forgets group members after group_expiry (30 min in settings), so a dead
# process stops receiving; live hubs re-join (idempotent) well before that.
GROUP_REFRESH_SECONDS = 600
GAP_CHECK_SECONDS = float(settings.HUB_GAP_CHECK_SECONDS)


class LocalSocket(Protocol):
    user_id: int
    rooms: set[int]
    open_room: int | None  # the room the client shows (``room.open``), one of ``rooms``
    wants_html: bool
    active: bool  # its page is visible and its person not idle (the ``presence`` frame)
    hidden: bool  # its user appears offline
    presence_rooms: set[int]  # its user's rooms small enough to be told of their presence

    async def deliver(self, seq: int | None, text: str) -> None: ...

    def membership_changed(self, kind: str, room_id: int, seq: int) -> None: ...

    async def reconnect_required(self) -> None: ...

    async def account_closed(self) -> None: ...


class HubUnavailable(RuntimeError):
    pass


class Hub:
    def __init__(self) -> None:
        self.by_room: dict[int, set[LocalSocket]] = defaultdict(set)
        self.by_user: dict[int, set[LocalSocket]] = defaultdict(set)
        self.by_open_room: dict[int, set[LocalSocket]] = defaultdict(set)
        self.channel_name: str | None = None
        self._task: asyncio.Task[None] | None = None
        self._started = asyncio.Event()
        self.delivered = 0  # frames written, for diagnostics and benchmarks
        self.recovered = 0  # events read back from the database to fill gaps
        self.last_seq = 0  # every event up to here has been dispatched (or predates this hub)
        self._seq_known = False
        self._order = asyncio.Lock()  # one dispatcher at a time: the reader or the gap check
        self._last_heard = 0.0
        self._watch_task: asyncio.Task[None] | None = None
        self.presence = ProcessPresence()
        # One writer thread, so a user's "online" and "gone" reach the store in the order they
        # happened; the event loop never waits for the store.
        self._presence_writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="parley-presence")
        self._heartbeat_task: asyncio.Task[None] | None = None
        # Users whose presence may have changed since the last push, with the rooms to tell
        # (those of sockets that have closed since; open sockets' rooms are read at the push).
        self._presence_dirty: dict[int, set[int]] = {}
        # Users who appear offline and closed a socket here since the last push: their other
        # places' state must not be published.
        self._presence_hidden_gone: set[int] = set()
        self._push_task: asyncio.Task[None] | None = None

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
        if not self._seq_known:
            # Subscribed first, then read: any later event reaches this hub or is found by the
            # gap check. No socket is attached yet, so nothing up to here is anyone's to deliver.
            # (A restarted reader keeps its last_seq: its sockets may be owed what it missed.)
            self.last_seq = await database_sync_to_async(selectors.latest_seq)()
            self._seq_known = True
        loop = asyncio.get_running_loop()
        self._last_heard = loop.time()
        if self._watch_task is None or self._watch_task.done():
            self._watch_task = asyncio.create_task(self._watch(), name="parley-hub-gap-check")
        if self._heartbeat_task is None or self._heartbeat_task.done():
            self._heartbeat_task = asyncio.create_task(self._heartbeat(), name="parley-hub-presence")
        if self._push_task is None or self._push_task.done():
            self._push_task = asyncio.create_task(
                self._push_presence_forever(), name="parley-hub-presence-push"
            )
        self._started.set()
        refresh = loop.time() + GROUP_REFRESH_SECONDS
        rejoin = False
        while True:
            try:
                if rejoin:
                    # A restarted Redis (without persistence) has forgotten the group: without
                    # joining again this hub would hear nothing more from the layer.
                    await layer.group_add(PROCESS_GROUP, self.channel_name)
                    rejoin = False
                    refresh = loop.time() + GROUP_REFRESH_SECONDS
                message = await layer.receive(self.channel_name)
            except asyncio.CancelledError:
                raise
            except Exception:
                # Events may have been lost while the layer was unreachable. Local sockets
                # cannot know what they missed, so ask them to reconnect: they catch up by seq.
                logger.exception("hub receive failed; asking local sockets to reconnect")
                await self.drop_all_sockets()
                rejoin = True
                await asyncio.sleep(0.5)
                continue
            self._last_heard = loop.time()
            kind = message.get("type")
            if kind == HUB_ACCOUNTS_CLOSED_TYPE:
                await self.close_accounts(message.get("users", []))
                continue
            if kind == HUB_PRESENCE_HIDDEN_TYPE:
                self.set_hidden({int(u): bool(h) for u, h in message.get("users", {}).items()})
                continue
            events = (
                [message]
                if kind == HUB_MESSAGE_TYPE
                else message.get("events", [])
                if kind == HUB_BATCH_TYPE
                else []
            )
            async with self._order:
                for event in events:
                    await self._dispatch_in_order(event)
            if loop.time() > refresh:
                await layer.group_add(PROCESS_GROUP, self.channel_name)
                refresh = asyncio.get_running_loop().time() + GROUP_REFRESH_SECONDS

    async def _dispatch_in_order(self, event: dict[str, Any]) -> None:
        seq = event.get("seq")
        if seq is not None:
            if seq <= self.last_seq:
                return  # already delivered, by a gap check that read it from the database
            if seq > self.last_seq + 1:
                await self._fill_gap(before=seq)
            self.last_seq = seq
        await self._dispatch_logged(event)

    async def _dispatch_logged(self, event: dict[str, Any]) -> None:
        try:
            await self.dispatch(event)
        except Exception:
            logger.exception("hub dispatch failed for seq %s", event.get("seq"))

    async def _fill_gap(self, before: int | None = None) -> None:
        """Deliver, from the database, the events after ``last_seq`` (and before ``before``)
        that never arrived. Call holding ``_order``."""
        missed = await database_sync_to_async(_missed_messages)(after=self.last_seq, before=before)
        if missed is None:
            logger.warning("more than CATCHUP_MAX_EVENTS events missed; asking local sockets to resync")
            await self.drop_all_sockets()
            if before is not None:
                self.last_seq = before - 1
            else:
                self.last_seq = await database_sync_to_async(selectors.latest_seq)()
            return
        if missed:
            logger.warning("recovered %d event(s) the channel layer did not bring (seq %d..%d)",
                           len(missed), missed[0]["seq"], missed[-1]["seq"])  # fmt: skip
        for message in missed:
            self.last_seq = message["seq"]
            self.recovered += 1
            await self._dispatch_logged(message)

    async def _watch(self) -> None:
        """While the stream is quiet, compare ``last_seq`` with the database: once it has been
        quiet for ``GAP_CHECK_SECONDS`` (since the last event heard or the last check), so an
        event lost after its commit waits at most that long. (Checking on fixed ticks, and
        skipping a tick that came soon after an event, made that up to twice as long.)"""
        loop = asyncio.get_running_loop()
        checked = loop.time()
        while True:
            wait = max(self._last_heard, checked) + GAP_CHECK_SECONDS - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            checked = loop.time()
            try:
                latest = await database_sync_to_async(selectors.latest_seq)()
                if latest > self.last_seq:
                    async with self._order:
                        await self._fill_gap()
            except Exception:
                logger.exception("hub gap check failed")

    async def _heartbeat(self) -> None:
        """Keep this process's users online in the shared store (chatsite.realtime.presence)."""
        while True:
            try:
                await self._write_presence(self.presence.beat, self.local_activity(self.by_user))
            except Exception:
                logger.exception("presence heartbeat failed")
            await asyncio.sleep(settings.PRESENCE_HEARTBEAT_SECONDS)

    def local_activity(self, user_ids: Iterable[int]) -> dict[int, bool]:
        """``{user: active}`` for those of these users with a socket here: active if any is."""
        return {u: any(s.active for s in self.by_user[u]) for u in user_ids if u in self.by_user}

    def set_active(self, socket: LocalSocket, active: bool) -> None:
        """The socket's page reported activity (visible and used) or its absence. Written to
        the store with the next push, so a flood of reports is one write."""
        if socket.active != active:
            socket.active = active
            self._presence_dirty.setdefault(socket.user_id, set())

    def set_hidden(self, hidden: dict[int, bool]) -> None:
        """Users' "appear offline" setting changed: their local sockets follow it."""
        for user_id, value in hidden.items():
            for socket in self.by_user.get(user_id, ()):
                socket.hidden = value
            if user_id in self.by_user:
                self._presence_dirty.setdefault(user_id, set())

    async def _push_presence_forever(self) -> None:
        while True:
            await asyncio.sleep(settings.PRESENCE_PUSH_SECONDS)
            try:
                await self.push_presence()
            except Exception:
                logger.exception("presence push failed")

    async def push_presence(self) -> None:
        """Publish the presence changes of the users marked since the last push: each user's
        merged state (all processes) if it differs from the last one published, to the members of
        their small rooms. At most one event per user per push interval: a user whose tabs flicker
        between visible and hidden is one event, or none."""
        if not self._presence_dirty:
            return
        dirty, self._presence_dirty = self._presence_dirty, {}
        hidden, self._presence_hidden_gone = self._presence_hidden_gone, set()
        audience: dict[int, set[int]] = {}
        for user_id, rooms in dirty.items():
            audience[user_id] = set(rooms)
            for socket in self.by_user.get(user_id, ()):
                audience[user_id] |= socket.presence_rooms
                if socket.hidden:
                    hidden.add(user_id)
        activity = self.local_activity(dirty)
        states = await self._write_presence(_merged_changes, self.presence, activity, audience, hidden)
        for user_id, state in states.items():
            await broadcasts.ephemeral_publish_async(
                kinds.PRESENCE, {"user": user_id, **state}, room_ids=audience[user_id]
            )

    def _write_presence(self, write: Any, *args: Any) -> asyncio.Future[None]:
        return asyncio.get_running_loop().run_in_executor(self._presence_writer, write, *args)

    def _presence_changed(self, write: Any, arg: Any) -> None:
        try:
            future = self._write_presence(write, arg)
        except RuntimeError:  # no running loop (a registry used outside a server): nothing to tell
            return
        future.add_done_callback(_log_failure)

    async def close_accounts(self, user_ids: Iterable[int]) -> None:
        """Close every local socket of these users (deactivated accounts)."""
        for user_id in user_ids:
            for socket in list(self.by_user.get(user_id, ())):
                try:
                    await socket.account_closed()
                except Exception:
                    logger.exception("closing a socket of deactivated user %s failed", user_id)

    async def drop_all_sockets(self) -> None:
        for sockets in list(self.by_user.values()):
            for socket in list(sockets):
                await socket.reconnect_required()

    # -- registry -------------------------------------------------------------------------------

    def register(self, socket: LocalSocket) -> None:
        """Make the socket reachable by membership events for its user (before it has rooms).
        A user's first socket in this process makes them online at once."""
        first = socket.user_id not in self.by_user
        self.by_user[socket.user_id].add(socket)
        if first:
            self._presence_changed(self.presence.beat, {socket.user_id: socket.active})
        if first or socket.active:
            self._presence_dirty.setdefault(socket.user_id, set())

    def attach(self, socket: LocalSocket, room_ids: Iterable[int]) -> None:
        for room_id in room_ids:
            socket.rooms.add(room_id)
            self.by_room[room_id].add(socket)

    def show(self, socket: LocalSocket, room_id: int | None) -> None:
        """Record which of its rooms the socket's client shows (None: none), for OPEN_ROOM kinds."""
        if socket.open_room is not None:
            _discard(self.by_open_room, socket.open_room, socket)
        socket.open_room = room_id if room_id in socket.rooms else None
        if socket.open_room is not None:
            self.by_open_room[socket.open_room].add(socket)

    def detach(self, socket: LocalSocket, room_id: int) -> None:
        if socket.open_room == room_id:
            self.show(socket, None)
        socket.rooms.discard(room_id)
        _discard(self.by_room, room_id, socket)

    def unregister(self, socket: LocalSocket) -> None:
        for room_id in list(socket.rooms):
            self.detach(socket, room_id)
        had = socket in self.by_user.get(socket.user_id, ())
        _discard(self.by_user, socket.user_id, socket)
        if not had:
            return
        self._presence_dirty.setdefault(socket.user_id, set()).update(socket.presence_rooms)
        if socket.hidden:
            self._presence_hidden_gone.add(socket.user_id)
        if socket.user_id not in self.by_user:  # their last socket here: gone from here
            self._presence_changed(self.presence.gone, socket.user_id)

    def local_sockets(self, room_id: int) -> int:
        return len(self.by_room.get(room_id, ()))

    # -- delivery -------------------------------------------------------------------------------

    async def dispatch(self, message: dict[str, Any]) -> None:
        """Deliver one event to its audience's local sockets, applying its kind's effect on
        subscriptions (declared in ``chatsite.realtime.kinds``)."""
        try:
            kind = kinds.get(message["kind"])
        except kinds.UnknownKind:
            # A newer process may publish kinds this one does not know yet (a rolling upgrade).
            logger.warning("hub: unknown event kind %r", message.get("kind"))
            return
        room_id: int | None = message.get("room")
        seq: int | None = message.get("seq")
        subject: int | None = message.get("subject")
        subject_sockets = tuple(self.by_user.get(subject, ())) if subject is not None else ()

        if kind.subscription is Subscription.JOIN and room_id is not None:
            for socket in subject_sockets:
                self.attach(socket, (room_id,))
                socket.membership_changed(kind.name, room_id, seq or 0)

        if kind.audience is Audience.ROOM:
            sockets: tuple[LocalSocket, ...] = tuple(self.by_room.get(room_id, ()))
        elif kind.audience is Audience.OPEN_ROOM:
            sockets = tuple(self.by_open_room.get(room_id, ()))
        elif kind.audience is Audience.ROOMS:
            sockets = tuple({s for room in message.get("rooms", ()) for s in self.by_room.get(room, ())})
        else:
            sockets = tuple(
                socket for user in message.get("users", ()) for socket in self.by_user.get(user, ())
            )
        if (exclude := message.get("exclude")) is not None:  # ephemeral kinds only: the typist
            sockets = tuple(socket for socket in sockets if socket.user_id != exclude)
        text: str = message["text"]
        html: str | None = message.get("html")
        for socket in sockets:
            await socket.deliver(seq, html if (html is not None and socket.wants_html) else text)
        self.delivered += len(sockets)

        if kind.subscription is Subscription.LEAVE and room_id is not None:
            for socket in subject_sockets:
                self.detach(socket, room_id)
                socket.membership_changed(kind.name, room_id, seq or 0)


def _merged_changes(
    presence: ProcessPresence,
    activity: dict[int, bool],
    audience: dict[int, set[int]],
    hidden: set[int],
) -> dict[int, dict[str, Any]]:
    """(On the presence writer thread.) Write this process's activity of these users, read their
    merged states, and return those that changed and have someone to tell."""
    if activity:
        presence.beat(activity)
    told = [u for u, rooms in audience.items() if rooms]
    states = presence_of(told, hidden=hidden)
    return {u: states[u] for u in presence_changes(states)}


def _log_failure(future: Any) -> None:
    if not future.cancelled() and future.exception() is not None:
        logger.error("presence write failed", exc_info=future.exception())


def _discard(registry: dict[int, set[LocalSocket]], key: int, socket: LocalSocket) -> None:
    sockets = registry.get(key)
    if sockets is not None:
        sockets.discard(socket)
        if not sockets:
            del registry[key]


def _missed_messages(*, after: int, before: int | None) -> list[dict[str, Any]] | None:
    events = selectors.events_between(after=after, before=before)
    return None if events is None else [hub_message(event) for event in events]


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


async def get_hub() -> Hub:
    """The running event loop's hub, started on first use (one per server process)."""
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub()
    await hub.start()
    return hub
