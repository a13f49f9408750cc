"""One subscriber of the process hub, whatever carries its frames: the WebSocket
(``messaging.consumers``) or the Server-Sent Events stream (``messaging.event_stream``).

Subscribing is the same for both: the user's rooms are read once (permissions are checked here,
then kept current by membership events in the hub), ``hello`` goes first, then the replay after
the client's cursor, then live events, with no gap and no duplicate between the two. A transport
only says how one frame is written (``push``).
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async
from django.conf import settings

from accounts.serialization import user_brief
from chatsite.realtime import broadcasts, kinds
from chatsite.realtime import selectors as event_selectors
from chatsite.realtime.fanout import Hub, get_hub
from chatsite.validation import InvalidNumber, parse_optional_id
from messaging import receipts, selectors
from rooms.selectors import small_rooms


class HubSubscriber:
    hub: Hub | None = None

    def subscriber_init(self, user: Any, *, wants_html: bool) -> None:
        self.user_id: int = user.id
        self.user_brief = user_brief(user)
        self.rooms: set[int] = set()
        self.open_room: int | None = None
        self.no_receipts: set[int] = set()
        self.wants_html = wants_html
        # Presence (chatsite.realtime.presence): active until the page says otherwise.
        self.active = True
        self.hidden = bool(user.appear_offline)
        self.presence_rooms: set[int] = set()
        # Until catch-up is done, live events wait here so nothing overtakes the replay.
        self.live = False
        self.cursor = 0  # the seq this subscriber is current to, once live
        self.pending: list[tuple[int | None, str]] = []
        self.membership_log: list[tuple[int, str, int]] = []

    async def push(self, seq: int | None, text: str) -> None:
        """Write one encoded frame to the client (``seq``: the stored event's, else None)."""
        raise NotImplementedError

    async def since_asked(self, raw: str | None) -> int | None:
        """The client's cursor (None: none); one that is not a seq gets an ``invalid_since``
        error frame, and the subscription starts as without one."""
        try:
            return parse_optional_id(raw, label="since")
        except InvalidNumber:
            error = {
                "type": "error",
                "code": "invalid_since",
                "detail": "since must be a non-negative integer sequence number.",
                "client_id": None,
            }
            await self.push(None, broadcasts.encode(error))
            return None

    async def subscribe(self, user: Any, *, since: int | None) -> None:
        """Join the hub, send ``hello`` and the replay after ``since``, then go live.
        Raises ``HubUnavailable`` when the channel layer is down."""
        hub = await get_hub()
        self.hub = hub
        # Who hears this user's presence changes: known before the hub marks them online.
        sizes = await database_sync_to_async(small_rooms)(
            user_id=self.user_id,
            at_most=max(settings.PRESENCE_PUSH_MAX_MEMBERS, settings.RECEIPTS_MAX_MEMBERS),
        )
        self.presence_rooms = {r for r, n in sizes.items() if n <= settings.PRESENCE_PUSH_MAX_MEMBERS}
        hub.register(self)
        snapshot = await database_sync_to_async(selectors.socket_snapshot)(user_id=self.user_id)
        hub.attach(self, snapshot.room_ids)
        # Rooms too big for receipts: their delivered frames are dropped without a database trip.
        self.no_receipts = {
            r for r in snapshot.room_ids if r not in sizes or sizes[r] > settings.RECEIPTS_MAX_MEMBERS
        }
        # What arrived while the user was away reaches this client now (in small rooms).
        await database_sync_to_async(receipts.delivered_on_connect)(
            user=user, room_ids=set(snapshot.room_ids) - self.no_receipts
        )
        for seq, kind, room_id in self.membership_log:
            if seq > snapshot.seq:  # changes the snapshot could not see yet
                if kinds.get(kind).subscription is kinds.Subscription.JOIN:
                    hub.attach(self, (room_id,))
                else:
                    hub.detach(self, room_id)
        self.membership_log.clear()
        hello = {"type": "hello", "user": self.user_brief, "rooms": sorted(self.rooms), "seq": snapshot.seq}
        await self.push(snapshot.seq, broadcasts.encode(hello))

        # Replay from the client's cursor, or, without one, from the snapshot: the second case
        # closes the window between reading the snapshot and attaching to the hub.
        catch_up = await database_sync_to_async(event_selectors.events_since)(
            user_id=self.user_id, room_ids=set(self.rooms), since=snapshot.seq if since is None else since
        )
        last_seq = snapshot.seq if since is None else since
        if catch_up.resync:
            await self.push(snapshot.seq, broadcasts.encode({"type": "resync", "seq": snapshot.seq}))
            last_seq = snapshot.seq  # the client starts over from here (its since may be bogus)
        for frame in catch_up.frames:
            await self.push(frame["seq"], self.encode_replayed(frame))
            last_seq = frame["seq"]
        for seq, text in self.pending:
            if seq is None or seq > last_seq:
                await self.push(seq, text)
                last_seq = max(last_seq, seq or 0)
        self.pending.clear()
        self.cursor = last_seq
        self.live = True

    def release(self) -> None:
        """Leave the hub (idempotent)."""
        if self.hub is not None:
            self.hub.unregister(self)
            self.hub = None

    # -- hub callbacks (fanout.LocalSocket) -----------------------------------------------------

    async def deliver(self, seq: int | None, text: str) -> None:
        if not self.live:
            self.pending.append((seq, text))
            return
        if seq is not None:
            # Never twice, never backwards: a hub filling a gap from the database may bring
            # events this client's catch-up has already sent.
            if seq <= self.cursor:
                return
            self.cursor = seq
        await self.push(seq, text)

    def membership_changed(self, kind: str, room_id: int, seq: int) -> None:
        if not self.live:
            self.membership_log.append((seq, kind, room_id))

    def encode_replayed(self, frame: dict[str, Any]) -> str:
        if not self.wants_html:
            return broadcasts.encode(frame)
        payload = {k: v for k, v in frame.items() if k not in ("type", "seq")}
        text, html_text = broadcasts.encode_event(kinds.get(frame["type"]), frame["seq"], payload)
        return html_text or text
