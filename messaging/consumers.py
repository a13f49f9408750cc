"""The one WebSocket per client, at ``/ws/`` (protocol: docs/websocket.md).

Thin: authenticate, subscribe the socket to its rooms in the process hub, validate each frame,
call a service, answer. It never writes to the database itself, and delivery of events to this
socket happens in the hub (``chatsite.realtime.fanout``) without touching the database.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from accounts.services import user_touch_last_seen
from accounts.ws_auth import query_param
from chatsite.exceptions import SERVICE_DOWN, UNAVAILABLE_DETAIL, DomainError
from chatsite.realtime import broadcasts, kinds
from chatsite.realtime.fanout import HubUnavailable
from chatsite.validation import find_unencodable, is_encodable
from messaging import changes, reads, receipts, services
from messaging.batching import get_batcher, get_read_batcher
from messaging.serialization import message_payload
from messaging.subscriber import HubSubscriber
from messaging.typists import TYPING_MIN_INTERVAL  # the same bound as typing over REST

logger = logging.getLogger(__name__)

MAX_FRAME_CHARS = 64 * 1024
PING_REF_MAX = 2**53  # what a JavaScript client can hold exactly
# "Try again later": clients reconnect (with backoff) and catch up with ?since=.
CLOSE_TRY_AGAIN = 1013
CLOSE_ACCOUNT_CLOSED = 4403  # the account was deactivated: do not reconnect


class FrameError(Exception):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


class ChatConsumer(HubSubscriber, AsyncWebsocketConsumer):
    # No channel-layer channel per socket: events reach sockets only through the process hub,
    # which is the one reader of the layer in this process (see chatsite.realtime.fanout); a per-socket
    # channel would only add a Redis receiver and memory per connection. An alias that is not
    # configured makes Channels skip the layer for this consumer.
    channel_layer_alias = "__parley_no_per_socket_channel__"

    # -- connection -----------------------------------------------------------------------------

    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        self.subscriber_init(user, wants_html=query_param(self.scope, "html") == "1")
        self.typing_sent: dict[int, float] = {}
        self.read_known: dict[int, int] = {}  # room -> the read pointer as of this socket's last read
        self.delivered_known: dict[int, int] = {}  # room -> what this socket last acknowledged
        await self.accept()
        since = await self.since_asked(query_param(self.scope, "since"))
        try:
            await self.subscribe(user, since=since)
        except HubUnavailable:
            logger.exception("no channel layer: closing a new socket")
            await self.close(code=CLOSE_TRY_AGAIN)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # Whatever ends this consumer (a clean close, an exception in connect or in a handler,
        # a cancelled task), its hub registrations go with it: a socket left in the hub keeps
        # the consumer, and all it holds, alive for the life of the process.
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.release()

    async def disconnect(self, code: int) -> None:
        if self.hub is not None:
            self.release()
            await database_sync_to_async(user_touch_last_seen)(user_id=self.user_id)

    # -- hub callbacks (fanout.LocalSocket) -----------------------------------------------------

    async def push(self, seq: int | None, text: str) -> None:
        try:
            # Straight to the ASGI server's send: the two Channels wrappers in between only
            # build this dict, once per socket per event (bench/RESULTS.md, the send-path profile).
            await self.base_send({"type": "websocket.send", "text": text})
        except Exception:  # the peer went away mid-write; disconnect() will unregister us
            logger.debug("delivery to a closing socket failed", exc_info=True)

    async def reconnect_required(self) -> None:
        """The hub may have missed events: close so the client reconnects with ?since=."""
        self.release()
        await self.close(code=CLOSE_TRY_AGAIN)

    async def account_closed(self) -> None:
        """The account was deactivated: stop at once (4403, so the client does not retry)."""
        self.release()
        await self.close(code=CLOSE_ACCOUNT_CLOSED)

    # -- frames from the client -----------------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        """Every frame gets an answer (a result or an error frame; typing frames only when
        refused) and the socket stays open, whatever its JSON shape; nothing a frame carries is
        echoed unless it passed validation (``client_id``, and ``ref`` when the frame had one)."""
        echo: dict[str, Any] = {"client_id": None}
        try:
            frame = self.parse_frame(text_data)
            echo["client_id"] = self.echoable_client_id(frame.get("client_id"))
            if "ref" in frame:
                echo["ref"] = self.echoable_ref(frame["ref"])
            handler = self.handlers.get(frame["type"])
            if handler is None:
                raise FrameError("unknown_type", f"Unknown frame type {frame['type'][:40]!r}.")
            await handler(self, frame)
        except (FrameError, DomainError) as exc:
            await self.send_error(exc.code, exc.detail, **echo)
        except SERVICE_DOWN:
            logger.warning(
                "a frame from user %s met a service that did not answer", self.user_id, exc_info=True
            )
            await self.send_error("unavailable", UNAVAILABLE_DETAIL, **echo)
        except Exception:
            logger.exception("a frame from user %s failed", self.user_id)
            await self.send_error("internal_error", "The server could not handle this frame.", **echo)

    @staticmethod
    def parse_frame(text_data: str | None) -> dict[str, Any]:
        if text_data is None:
            raise FrameError("unsupported_frame", "Send JSON text frames, not binary.")
        if len(text_data) > MAX_FRAME_CHARS:
            raise FrameError("frame_too_large", f"Frames must be at most {MAX_FRAME_CHARS} characters.")
        try:
            frame = json.loads(text_data)
        except (ValueError, RecursionError):
            raise FrameError("invalid_json", "The frame is not valid JSON.") from None
        # Only an escape can smuggle a lone surrogate in: the socket's own text is valid UTF-8.
        if "\\u" in text_data and find_unencodable(frame):
            raise FrameError(
                "invalid_text", "The frame holds text that is not valid Unicode (a lone surrogate)."
            )
        if not isinstance(frame, dict):
            raise FrameError("invalid_frame", "A frame must be a JSON object with a 'type'.")
        if not isinstance(frame.get("type"), str):
            raise FrameError("unknown_type", "A frame's 'type' must be one of the documented strings.")
        return frame

    @staticmethod
    def echoable_client_id(value: object) -> str | None:
        try:
            return services.clean_client_id(value) if isinstance(value, str) and value else None
        except DomainError:
            return None

    async def on_message_send(self, frame: dict[str, Any]) -> None:
        room_id = frame.get("room")
        if type(room_id) is not int:
            raise FrameError("invalid_room", "'room' must be an integer room id.")
        client_id = frame.get("client_id")
        if not isinstance(client_id, str) or not client_id:
            raise FrameError("invalid_client_id", "'client_id' must be a non-empty string.")
        try:
            services.clean_client_id(client_id)
        except DomainError as exc:
            raise FrameError("invalid_client_id", exc.detail) from None
        if "body" not in frame and not frame.get("attachments"):
            raise FrameError("invalid_message", "'body' is required (it may be blank with attachments).")
        if room_id not in self.rooms:
            # Same answer as the service gives for a missing room, without a database trip.
            raise FrameError("not_found", "Not found.")
        result = await get_batcher().submit(
            services.SendRequest(
                sender=self.scope["user"],
                room_id=room_id,
                body=frame.get("body"),
                client_id=client_id,
                reply_to=frame.get("reply_to"),
                attachments=frame.get("attachments"),
            )
        )
        await self.send_json({"type": "message.ack", "client_id": client_id, **result})

    async def on_ping(self, frame: dict[str, Any]) -> None:
        ref = frame.get("ref")
        if ref is not None and self.echoable_ref(ref) is None:
            raise FrameError(
                "invalid_ref", "'ref' must be an integer or a printable string of at most 64 characters."
            )
        await self.send_json({"type": "pong", "ref": ref})

    @staticmethod
    def echoable_ref(ref: object) -> int | str | None:
        """A client's correlation ref, if it may be echoed back (else None)."""
        if (type(ref) is int and abs(ref) <= PING_REF_MAX) or (
            isinstance(ref, str) and len(ref) <= 64 and is_encodable(ref) and ref.isprintable()
        ):
            return ref
        return None

    async def on_room_open(self, frame: dict[str, Any]) -> None:
        """The client shows this room (``null``: none): it hears the room's typing (and other
        OPEN_ROOM kinds) until it shows another. No answer unless refused."""
        if "room" not in frame:
            raise FrameError("invalid_room", "'room' must be an integer room id, or null for none.")
        room_id = None if frame["room"] is None else self.member_room(frame)
        if self.hub is not None:
            self.hub.show(self, room_id)

    async def on_presence(self, frame: dict[str, Any]) -> None:
        """The page reports whether its person is here: ``active`` false when its tab is hidden
        or nothing was typed, clicked or moved for PRESENCE_AWAY_SECONDS. No answer unless
        refused; the user is away when every socket of theirs is inactive."""
        active = frame.get("active")
        if type(active) is not bool:
            raise FrameError("invalid_presence", "'active' must be true or false.")
        if self.hub is not None:
            self.hub.set_active(self, active)

    async def on_typing_start(self, frame: dict[str, Any]) -> None:
        """Tell the room's other members' sockets that this user is typing (ephemeral: no answer,
        nothing stored). Throttled per socket and room; the page sends one every few seconds."""
        room_id = self.member_room(frame)
        now = time.monotonic()
        if now - self.typing_sent.get(room_id, -TYPING_MIN_INTERVAL) < TYPING_MIN_INTERVAL:
            return  # a burst from one socket is one event to the room
        self.typing_sent[room_id] = now
        await self.publish_typing(room_id, typing=True)

    async def on_typing_stop(self, frame: dict[str, Any]) -> None:
        room_id = self.member_room(frame)
        if self.typing_sent.pop(room_id, None) is not None:  # only after a start
            await self.publish_typing(room_id, typing=False)

    def member_room(self, frame: dict[str, Any]) -> int:
        """The frame's ``room``, one of this socket's rooms (``not_found`` otherwise, as for a
        message.send to a room you are not in)."""
        room_id = frame.get("room")
        if type(room_id) is not int:
            raise FrameError("invalid_room", "'room' must be an integer room id.")
        if room_id not in self.rooms:
            raise FrameError("not_found", "Not found.")  # as for message.send
        return room_id

    async def publish_typing(self, room_id: int, *, typing: bool) -> None:
        await broadcasts.ephemeral_publish_async(
            kinds.TYPING,
            {"room": room_id, "user": self.user_brief, "typing": typing},
            room_id=room_id,
            exclude_user=self.user_id,
        )

    async def on_read(self, frame: dict[str, Any]) -> None:
        """Mark a room read up to a message: no answer unless refused; when the pointer moves,
        every socket of this user (this one too) gets ``read.updated``."""
        room_id = self.member_room(frame)
        message_id = frame.get("message")
        if type(message_id) is int and 0 < message_id <= self.read_known.get(room_id, 0):
            return  # not past what this socket already marked: a no-op, without a database trip
        state, _ = await get_read_batcher().submit(
            reads.ReadRequest(user=self.scope["user"], room_id=room_id, message_id=message_id)
        )
        self.read_known[room_id] = state.last_read

    async def on_delivered(self, frame: dict[str, Any]) -> None:
        """The client acknowledges the room's messages up to ``message`` (they reached it): the
        member's delivered pointer, for receipts. No answer unless refused; in rooms too big for
        receipts it is dropped here, and a repeat costs no database trip."""
        room_id = self.member_room(frame)
        message_id = frame.get("message")
        if type(message_id) is not int or message_id < 1:
            raise FrameError("invalid_delivered", "'message' must be a positive integer message id.")
        if room_id in self.no_receipts or message_id <= self.delivered_known.get(room_id, 0):
            return
        await database_sync_to_async(receipts.delivered_mark)(
            user=self.scope["user"], room_id=room_id, message_id=message_id
        )
        self.delivered_known[room_id] = message_id

    # -- changes to a sent message: answered with a "result" frame (the change also reaches every
    # member, this socket included, as a message.updated / message.deleted event) --------------

    async def on_message_edit(self, frame: dict[str, Any]) -> None:
        if "body" not in frame:
            raise FrameError("invalid_message", "'body' is required.")
        message = await database_sync_to_async(changes.message_edit)(
            actor=self.scope["user"], message_id=frame.get("message"), body=frame["body"]
        )
        await self.send_result(frame, message)

    async def on_message_delete(self, frame: dict[str, Any]) -> None:
        message = await database_sync_to_async(changes.message_delete)(
            actor=self.scope["user"],
            message_id=frame.get("message"),
            via="websocket",
            reason=frame.get("reason"),
        )
        await self.send_result(frame, message)

    async def on_reaction_toggle(self, frame: dict[str, Any]) -> None:
        result = await database_sync_to_async(changes.reaction_toggle)(
            user=self.scope["user"], message_id=frame.get("message"), emoji=frame.get("emoji")
        )
        await self.send_result(frame, result.message, added=result.added)

    async def send_result(self, frame: dict[str, Any], message: Any, **extra: Any) -> None:
        payload = await database_sync_to_async(message_payload)(message)
        await self.send_json(
            {
                "type": "result",
                "op": frame["type"],
                "ref": self.echoable_ref(frame.get("ref")),
                "message": payload,
                **extra,
            }
        )

    handlers = {
        "message.send": on_message_send,
        "message.edit": on_message_edit,
        "message.delete": on_message_delete,
        "reaction.toggle": on_reaction_toggle,
        "ping": on_ping,
        "typing.start": on_typing_start,
        "typing.stop": on_typing_stop,
        "read": on_read,
        "room.open": on_room_open,
        "presence": on_presence,
        "delivered": on_delivered,
    }

    # -- helpers --------------------------------------------------------------------------------

    async def send_json(self, frame: dict[str, Any]) -> None:
        await self.send(text_data=broadcasts.encode(frame))

    async def send_error(self, code: str, detail: str, client_id: str | None = None, **echo: Any) -> None:
        await self.send_json(
            {"type": "error", "code": code, "detail": detail, "client_id": client_id, **echo}
        )
