"""Every state change of messages. One write path for REST, WebSocket, web forms and seeds."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError
from django.utils import timezone

from accounts.models import User
from messaging.events import event_record, event_writer
from messaging.exceptions import InvalidMessage, SendRateLimited
from messaging.models import Message
from messaging.serialization import message_payload
from rooms.models import Room
from rooms.selectors import membership_get

CLIENT_ID_MAX = 64


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool  # False when client_id matched an earlier message (an idempotent retry)
    seq: int | None  # seq of the message.new event; None for a retry


def clean_body(body: object) -> str:
    if not isinstance(body, str):
        raise InvalidMessage("Message body must be a string.", field="body")
    body = body.strip()
    if not body:
        raise InvalidMessage("Message body must not be empty.", field="body")
    if len(body) > settings.MESSAGE_MAX_LENGTH:
        raise InvalidMessage(
            f"Message body must be at most {settings.MESSAGE_MAX_LENGTH} characters.", field="body"
        )
    if "\x00" in body:
        raise InvalidMessage("Message body must not contain NUL characters.", field="body")
    return body


def clean_client_id(client_id: object) -> str:
    if client_id is None or client_id == "":
        return uuid.uuid4().hex
    if not isinstance(client_id, str) or len(client_id) > CLIENT_ID_MAX or not client_id.isprintable():
        raise InvalidMessage(
            f"client_id must be a printable string of at most {CLIENT_ID_MAX} characters.", field="client_id"
        )
    return client_id


def send_rate_check(*, user_id: int) -> None:
    """At most SEND_RATE_LIMIT sends per SEND_RATE_WINDOW seconds per user (fixed windows,
    counted in the shared cache so every process and interface draws on one budget)."""
    window = settings.SEND_RATE_WINDOW
    key = f"send-rate:{user_id}:{int(time.time() // window)}"
    if cache.add(key, 1, timeout=window + 1):
        return
    try:
        count = cache.incr(key)
    except ValueError:
        cache.add(key, 1, timeout=window + 1)
        return
    if count > settings.SEND_RATE_LIMIT:
        raise SendRateLimited(retry_after=window)


def _existing(sender: User, client_id: str) -> Message | None:
    return Message.objects.select_related("sender").filter(sender=sender, client_id=client_id).first()


def message_send(*, sender: User, room_id: int, body: object, client_id: object = None) -> SendResult:
    """Post a message to a room the sender belongs to.

    Idempotent by ``(sender, client_id)``: a retry returns the original message and writes and
    broadcasts nothing. Raises RoomNotFound for rooms the sender is not in (as for missing
    rooms), InvalidMessage for a bad body, SendRateLimited past the send budget.
    Side effect on commit: ``broadcasts.event_published`` of a ``message.new`` event.
    """
    text = clean_body(body)
    cid = clean_client_id(client_id)
    if (original := _existing(sender, cid)) is not None:
        membership_get(user=sender, room_id=room_id)
        return SendResult(message=original, created=False, seq=None)
    send_rate_check(user_id=sender.id)
    try:
        return _message_insert(sender=sender, room_id=room_id, body=text, client_id=cid)
    except IntegrityError:
        # A concurrent send with the same client_id won the race: return its message.
        if (original := _existing(sender, cid)) is None:
            raise
        return SendResult(message=original, created=False, seq=None)


@event_writer
def _message_insert(*, sender: User, room_id: int, body: str, client_id: str) -> SendResult:
    membership_get(user=sender, room_id=room_id)
    now = timezone.now()
    message = Message.objects.create(
        room_id=room_id, sender=sender, body=body, client_id=client_id, created_at=now
    )
    message.sender = sender
    event = event_record(room_id=room_id, type="message.new", payload={"message": message_payload(message)})
    Room.objects.filter(pk=room_id).update(last_activity_at=now)
    return SendResult(message=message, created=True, seq=event.seq)
