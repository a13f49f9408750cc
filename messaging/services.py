"""Every state change of messages. One write path for REST, WebSocket, web forms and seeds."""

from __future__ import annotations

import logging
import re
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import User
from chatsite import ratelimit
from chatsite.exceptions import DomainError
from chatsite.realtime import kinds
from chatsite.realtime.events import event_new, event_writer, events_record_many
from chatsite.realtime.models import Event
from chatsite.validation import InvalidNumber, clean_text, is_encodable, parse_id
from messaging.exceptions import (
    InvalidAttachments,
    InvalidMessage,
    InvalidReply,
    MentionNotAllowed,
    SendFailed,
    SendRateLimited,
)
from messaging.markdown import MENTION_RE, ROOM_MENTION, render_html
from messaging.models import Message
from messaging.serialization import message_payload
from messaging.uploads import (
    attachment_summary,
    attachments_claim,
    attachments_claimable,
    attachments_lock,
    clean_attachment_ids,
)
from rooms.models import Membership, Room
from rooms.selectors import membership_get, post_refusals, room_member_count

logger = logging.getLogger(__name__)

CLIENT_ID_MAX = 64


@dataclass(frozen=True)
class SendResult:
    message: Message
    created: bool  # False when client_id matched an earlier message (an idempotent retry)
    seq: int | None  # seq of the message.new event; None for a retry


def clean_body(body: object, *, allow_blank: bool = False) -> str:
    """The message text as stored, or InvalidMessage (rules: ``chatsite.validation.clean_text``).

    ``allow_blank``: a message carrying files may have no text (a missing body is blank too)."""
    if allow_blank and body is None:
        return ""
    return clean_text(
        body,
        label="Message body",
        max_length=settings.MESSAGE_MAX_LENGTH,
        field="body",
        error=InvalidMessage,
        allow_blank=allow_blank,
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


def message_send(
    *,
    sender: User,
    room_id: int,
    body: object,
    client_id: object = None,
    reply_to: object = None,
    attachments: object = None,
) -> SendResult:
    """Post a message to a room the sender belongs to, with the files it carries (``attachments``:
    ids of the sender's uploads to this room not sent yet; with them, the text may be blank).

    Idempotent by ``(sender, client_id)``: a retry returns the original message and writes and
    broadcasts nothing. Raises RoomNotFound for rooms the sender is not in (as for missing
    rooms), InvalidMessage for a bad body, InvalidAttachments for attachments it cannot carry,
    SendRateLimited past the send budget.
    Side effect on commit: ``broadcasts.event_published`` of a ``message.new`` event.
    A batch of one for ``message_send_many``, so every interface shares one write path.
    """
    (outcome,) = message_send_many(
        sends=[
            SendRequest(
                sender=sender,
                room_id=room_id,
                body=body,
                client_id=client_id,
                reply_to=reply_to,
                attachments=attachments,
            )
        ]
    )
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


def _insert_or_original(item: _Fresh) -> SendResult | DomainError:
    """One send of a batch, on its own: its own write, or the original it raced with."""
    try:
        return _messages_insert(fresh=[item])[item.index]
    except IntegrityError:
        # A concurrent send with the same client_id won the race: return its message.
        if (original := _existing(item.send.sender, item.client_id)) is None:
            raise
        return SendResult(message=original, created=False, seq=None)


@dataclass(frozen=True)
class SendRequest:
    sender: User
    room_id: int
    body: object
    client_id: object = None
    reply_to: object = None  # the id of the message this one answers
    attachments: object = None  # ids of the sender's unsent uploads to the room


@dataclass(frozen=True)
class _Fresh:
    """A send that passed validation, with what was worked out before taking the lock."""

    index: int
    send: SendRequest
    body: str
    client_id: str
    reply_to: int | None
    mentions: Mention
    attachments: list[int]


def clean_reply_to(value: object) -> int | None:
    if value is None or value == "":
        return None
    try:
        return parse_id(value, minimum=1)
    except InvalidNumber:
        raise InvalidReply(field="reply_to") from None


def message_send_many(*, sends: Sequence[SendRequest]) -> list[SendResult | DomainError]:
    """``message_send`` for several sends at once (a group commit), with the same rules.

    Returns, in order, what ``message_send`` would have returned or raised for each. The new
    messages are written in *one* transaction under one hold of the publication lock and
    published as one broadcast in seq order: the lock, the commit and the channel-layer trip
    are paid once per batch instead of once per message, which is what bounds the send rate.
    Rendering and mention lookups happen before the lock is taken.
    """
    outcomes: list[SendResult | DomainError | None] = [None] * len(sends)
    cleaned: list[tuple[int, SendRequest, str, str, int | None, list[int]]] = []
    for index, send in enumerate(sends):
        try:
            attachment_ids = clean_attachment_ids(send.attachments)
            cleaned.append(
                (
                    index,
                    send,
                    clean_body(send.body, allow_blank=bool(attachment_ids)),
                    clean_client_id(send.client_id),
                    clean_reply_to(send.reply_to),
                    attachment_ids,
                )
            )
        except DomainError as exc:
            outcomes[index] = exc
    # Retries, found in one query for the whole batch.
    originals = {
        (m.sender_id, m.client_id): m
        for m in Message.objects.select_related("sender").filter(
            sender_id__in={c[1].sender.id for c in cleaned}, client_id__in={c[3] for c in cleaned}
        )
    }
    fresh_by_user: dict[int, list[_Fresh]] = {}
    for index, send, body, cid, reply_to, attachment_ids in cleaned:
        try:
            if (original := originals.get((send.sender.id, cid))) is not None:
                # A retry answers like a send: a former member gets not_found, not the original.
                membership_get(user=send.sender, room_id=send.room_id)
                outcomes[index] = SendResult(message=original, created=False, seq=None)
                continue
            mentions = mentions_resolve(sender=send.sender, room_id=send.room_id, body=body)
        except DomainError as exc:
            outcomes[index] = exc
            continue
        except (OperationalError, InterfaceError):
            raise
        except Exception:  # preparing one send failed: that send alone fails
            logger.exception("preparing a send failed (sender %s, room %s)", send.sender.id, send.room_id)
            outcomes[index] = SendFailed()
            continue
        fresh_by_user.setdefault(send.sender.id, []).append(
            _Fresh(
                index=index,
                send=send,
                body=body,
                client_id=cid,
                reply_to=reply_to,
                mentions=mentions,
                attachments=attachment_ids,
            )
        )
    # The send budget, one cache trip per user; sends past it are refused, as one by one.
    fresh: list[_Fresh] = []
    for user_id, items in fresh_by_user.items():
        allowed = send_rate_take(user_id=user_id, count=len(items))
        fresh.extend(items[:allowed])
        for item in items[allowed:]:
            outcomes[item.index] = SendRateLimited(retry_after=settings.SEND_RATE_WINDOW)
    fresh.sort(key=lambda item: item.index)
    if fresh:
        try:
            written = _messages_insert(fresh=fresh)
        except (OperationalError, InterfaceError):
            raise  # the database is unreachable: no send of this batch can be stored
        except Exception:
            # One send spoiled the batch (a client_id repeated inside it or raced by a concurrent
            # send, or anything else about one row): one by one, so each fails or succeeds alone.
            written = {item.index: _insert_alone(item) for item in fresh}
        for index, outcome in written.items():
            outcomes[index] = outcome
    return outcomes  # type: ignore[return-value]


def _insert_alone(item: _Fresh) -> SendResult | DomainError:
    try:
        return _insert_or_original(item)
    except (OperationalError, InterfaceError):
        raise
    except Exception:
        logger.exception(
            "a send failed on its own (sender %s, room %s)", item.send.sender.id, item.send.room_id
        )
        return SendFailed()


@event_writer
def _messages_insert(*, fresh: list[_Fresh]) -> dict[int, SendResult | DomainError]:
    # Not a member, muted, or a room that is read-only or archived: refused, each on its own.
    refusals = post_refusals(pairs={(item.send.sender.id, item.send.room_id) for item in fresh})
    parents = Message.objects.select_related("sender").in_bulk({i.reply_to for i in fresh if i.reply_to})
    uploads = attachments_lock(a for item in fresh for a in item.attachments)
    claimed: dict[int, list] = {}  # index -> the attachments its message carries
    out: dict[int, SendResult | DomainError] = {}
    rows: list[tuple[int, Message]] = []
    now = timezone.now()
    for item in fresh:
        send = item.send
        if (refusal := refusals.get((send.sender.id, send.room_id))) is not None:
            out[item.index] = refusal
            continue
        if item.reply_to is not None:
            parent = parents.get(item.reply_to)
            if parent is None or parent.room_id != send.room_id or parent.deleted_at is not None:
                out[item.index] = InvalidReply(field="reply_to")
                continue
        if item.attachments:
            carried = attachments_claimable(
                found=uploads, ids=item.attachments, sender_id=send.sender.id, room_id=send.room_id
            )
            taken = {a.id for carried_before in claimed.values() for a in carried_before}
            if carried is None or any(a.id in taken for a in carried):
                out[item.index] = InvalidAttachments(field="attachments")
                continue
            claimed[item.index] = carried
        message = Message(
            room_id=send.room_id,
            sender=send.sender,
            body=item.body,
            body_html=item.mentions.html,
            mentions=item.mentions.user_ids,
            mentions_room=item.mentions.room,
            client_id=item.client_id,
            created_at=now,
            reply_to_id=item.reply_to,
            attachments=[attachment_summary(a) for a in claimed.get(item.index, ())],
        )
        rows.append((item.index, message))
    if not rows:
        return out
    messages = Message.objects.bulk_create([message for _, message in rows])
    for index, message in rows:
        if index in claimed:
            attachments_claim(message=message, attachments=claimed[index])
    new_events = [
        event_new(
            kinds.MESSAGE_NEW,
            room_id=m.room_id,
            payload={"message": message_payload(m, parent=parents.get(m.reply_to_id))},
            object_id=m.id,
        )
        for m in messages
    ]
    # Each answered message shows one more reply, live.
    replied = Counter(m.reply_to_id for m in messages if m.reply_to_id is not None)
    for parent_id, count in sorted(replied.items()):
        Message.objects.filter(pk=parent_id).update(reply_count=F("reply_count") + count)
    updated = [
        message_event(kinds.MESSAGE_UPDATED, message)
        for message in Message.objects.select_related("sender").filter(pk__in=replied).order_by("pk")
    ]
    newest: dict[int, int] = {}
    for m in messages:
        newest[m.room_id] = max(newest.get(m.room_id, 0), m.id)
    for room_id, last_id in sorted(newest.items()):
        Room.objects.filter(pk=room_id).update(last_activity_at=now, last_message_id=last_id)
    events = events_record_many(new_events + updated)  # last: it takes the publication lock
    for (index, message), event in zip(rows, events[: len(rows)], strict=True):
        out[index] = SendResult(message=message, created=True, seq=event.seq)
    return out


def message_event(kind: kinds.EventKind, message: Message, parent: Message | None = None) -> Event:
    """An (unsaved) event carrying the message's current payload. ``sender`` must be loaded."""
    payload = {"message": message_payload(message, parent=parent)}
    return event_new(kind, room_id=message.room_id, payload=payload, object_id=message.id)


# --- mentions --------------------------------------------------------------------------------

# What the renderer marked is what is stored: its spans carry the mentioned members' ids.
# Matched on the tags themselves: text can't hold a raw "<", so typed look-alikes don't count.
_MARKED_USER = re.compile(r'<span class="mention" data-user-id="(\d+)">')
_MARKED_ROOM = '<span class="mention mention-room">'


@dataclass(frozen=True)
class Mention:
    user_ids: list[int]
    room: bool
    html: str


def mentions_resolve(*, sender: User, room_id: int, body: str) -> Mention:
    """Who ``body`` mentions among the room's members, and its HTML with them marked.

    ``@room`` mentions everyone; in rooms above ROOM_MENTION_OPEN_MAX members only owners and
    admins may use it (MentionNotAllowed). Unknown names, and names in code, stay plain text:
    the stored mentions are the ones the renderer marked, so what is highlighted is what counts."""
    names = {n.rstrip(".-").lower() for n in MENTION_RE.findall(body)} if "@" in body else set()
    users: dict[str, int] = {}
    if names - {ROOM_MENTION}:
        users = {
            name: user_id
            for name, user_id in Membership.objects.filter(room_id=room_id)
            .annotate(name=Lower("user__username"))
            .filter(name__in=names - {ROOM_MENTION})
            .values_list("name", "user_id")
        }
    html = render_html(body, mentions=users, mention_room=ROOM_MENTION in names)
    room_wide = _MARKED_ROOM in html
    if room_wide:
        membership = membership_get(user=sender, room_id=room_id)
        if not membership.can_manage and room_member_count(room_id=room_id) > settings.ROOM_MENTION_OPEN_MAX:
            raise MentionNotAllowed()
    return Mention(user_ids=sorted({int(i) for i in _MARKED_USER.findall(html)}), room=room_wide, html=html)
