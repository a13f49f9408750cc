"""Every state change of messages. One write path for REST, WebSocket, web forms and seeds."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError
from django.utils import timezone

from accounts.models import User
from chatsite import ratelimit
from chatsite.exceptions import DomainError
from chatsite.realtime import kinds
from chatsite.realtime.events import event_new, event_writer, events_record_many
from chatsite.validation import clean_text, is_encodable
from messaging.exceptions import InvalidMessage, SendFailed, SendRateLimited
from messaging.models import Message
from messaging.serialization import message_payload
from rooms.exceptions import RoomNotFound
from rooms.models import Membership, Room
from rooms.selectors import membership_get

logger = logging.getLogger(__name__)

CLIENT_ID_MAX = 64


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool  # False when client_id matched an earlier message (an idempotent retry)
    seq: int | None  # seq of the message.new event; None for a retry


def clean_body(body: object) -> str:
    """The message text as stored, or InvalidMessage (rules: ``chatsite.validation.clean_text``)."""
    return clean_text(
        body, label="Message body", max_length=settings.MESSAGE_MAX_LENGTH, field="body", error=InvalidMessage
    )


def clean_client_id(client_id: object) -> str:
    """The client's idempotency key, or a fresh one when none was given."""
    if client_id is None or client_id == "":
        return uuid.uuid4().hex
    if (
        not isinstance(client_id, str)
        or len(client_id) > CLIENT_ID_MAX
        or not is_encodable(client_id)
        or not client_id.isprintable()
    ):
        raise InvalidMessage(
            f"client_id must be a printable string of at most {CLIENT_ID_MAX} characters.", field="client_id"
        )
    return client_id


def send_rate_take(*, user_id: int, count: int) -> int:
    """Count ``count`` sends against the user's budget; returns how many of them fit in it.

    At most SEND_RATE_LIMIT sends in any SEND_RATE_WINDOW seconds per user (a sliding window in
    the shared cache, so every process and interface draws on one budget)."""
    return ratelimit.take(
        f"send:{user_id}", limit=settings.SEND_RATE_LIMIT, window=settings.SEND_RATE_WINDOW, count=count
    )


def _existing(sender: User, client_id: str) -> Message | None:
    return Message.objects.select_related("sender").filter(sender=sender, client_id=client_id).first()


def message_send(*, sender: User, room_id: int, body: object, client_id: object = None) -> SendResult:
    """Post a message to a room the sender belongs to.

    Idempotent by ``(sender, client_id)``: a retry returns the original message and writes and
    broadcasts nothing. Raises RoomNotFound for rooms the sender is not in (as for missing
    rooms), InvalidMessage for a bad body, SendRateLimited past the send budget.
    Side effect on commit: ``broadcasts.event_published`` of a ``message.new`` event.
    A batch of one for ``message_send_many``, so every interface shares one write path.
    """
    (outcome,) = message_send_many(
        sends=[SendRequest(sender=sender, room_id=room_id, body=body, client_id=client_id)]
    )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def _insert_or_original(item: tuple[int, SendRequest, str, str]) -> SendResult | DomainError:
    """One send of a batch, on its own: its own write, or the original it raced with."""
    index, send, _, client_id = item
    try:
        return _messages_insert(fresh=[item])[index]
    except IntegrityError:
        # A concurrent send with the same client_id won the race: return its message.
        if (original := _existing(send.sender, client_id)) is None:
            raise
        return SendResult(message=original, created=False, seq=None)


@dataclass(frozen=True)
class SendRequest:
    sender: User
    room_id: int
    body: object
    client_id: object = None


def message_send_many(*, sends: Sequence[SendRequest]) -> list[SendResult | DomainError]:
    """``message_send`` for several sends at once (a group commit), with the same rules.

    Returns, in order, what ``message_send`` would have returned or raised for each. The new
    messages are written in *one* transaction under one hold of the publication lock and
    published as one broadcast in seq order: the lock, the commit and the channel-layer trip
    are paid once per batch instead of once per message, which is what bounds the send rate.
    """
    outcomes: list[SendResult | DomainError | None] = [None] * len(sends)
    cleaned: list[tuple[int, SendRequest, str, str]] = []
    for index, send in enumerate(sends):
        try:
            cleaned.append((index, send, clean_body(send.body), clean_client_id(send.client_id)))
        except DomainError as exc:
            outcomes[index] = exc
    # Retries, found in one query for the whole batch.
    originals = {
        (m.sender_id, m.client_id): m
        for m in Message.objects.select_related("sender").filter(
            sender_id__in={send.sender.id for _, send, _, _ in cleaned},
            client_id__in={cid for _, _, _, cid in cleaned},
        )
    }
    fresh_by_user: dict[int, list[tuple[int, SendRequest, str, str]]] = {}
    for index, send, text, cid in cleaned:
        if (original := originals.get((send.sender.id, cid))) is not None:
            try:
                membership_get(user=send.sender, room_id=send.room_id)
                outcomes[index] = SendResult(message=original, created=False, seq=None)
            except DomainError as exc:
                outcomes[index] = exc
            continue
        fresh_by_user.setdefault(send.sender.id, []).append((index, send, text, cid))
    # The send budget, one cache trip per user; sends past it are refused, as one by one.
    fresh: list[tuple[int, SendRequest, str, str]] = []
    for user_id, items in fresh_by_user.items():
        allowed = send_rate_take(user_id=user_id, count=len(items))
        fresh.extend(items[:allowed])
        for index, _, _, _ in items[allowed:]:
            outcomes[index] = SendRateLimited(retry_after=settings.SEND_RATE_WINDOW)
    fresh.sort(key=lambda item: item[0])
    if fresh:
        try:
            written = _messages_insert(fresh=fresh)
        except (OperationalError, InterfaceError):
            raise  # the database is unreachable: no send of this batch can be stored
        except Exception:
            # One send spoiled the batch (a client_id repeated inside it or raced by a concurrent
            # send, or anything else about one row): one by one, so each fails or succeeds alone.
            written = {item[0]: _insert_alone(item) for item in fresh}
        for index, outcome in written.items():
            outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def _insert_alone(item: tuple[int, SendRequest, str, str]) -> SendResult | DomainError:
    try:
        return _insert_or_original(item)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        logger.exception("a send failed on its own (sender %s, room %s)", item[1].sender.id, item[1].room_id)
        return SendFailed()


@event_writer
def _messages_insert(
    *, fresh: list[tuple[int, SendRequest, str, str]]
) -> dict[int, SendResult | DomainError]:
    users = {send.sender.id for _, send, _, _ in fresh}
    rooms = {send.room_id for _, send, _, _ in fresh}
    members = set(
        Membership.objects.filter(user_id__in=users, room_id__in=rooms).values_list("user_id", "room_id")
    )
    out: dict[int, SendResult | DomainError] = {}
    rows: list[tuple[int, Message]] = []
    now = timezone.now()
    for index, send, text, cid in fresh:
        if (send.sender.id, send.room_id) not in members:
            out[index] = RoomNotFound()
            continue
        message = Message(room_id=send.room_id, sender=send.sender, body=text, client_id=cid, created_at=now)
        rows.append((index, message))
    if not rows:
        return out
    messages = Message.objects.bulk_create([message for _, message in rows])
    events = events_record_many(
        [
            event_new(
                kinds.MESSAGE_NEW, room_id=m.room_id, payload={"message": message_payload(m)}, object_id=m.id
            )
            for m in messages
        ]
    )
    for room_id in sorted({m.room_id for m in messages}):
        Room.objects.filter(pk=room_id).update(last_activity_at=now)
    for (index, message), event in zip(rows, events, strict=True):
        out[index] = SendResult(message=message, created=True, seq=event.seq)
    return out
