"""Reads of messages and events, always scoped through the requesting user's memberships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from accounts.models import User
from chatsite.realtime.models import Event
from messaging.exceptions import AttachmentNotFound, MessageNotFound
from messaging.models import Attachment, Message, MessageRevision
from messaging.serialization import MESSAGE_ROW_FIELDS, message_payloads
from rooms.models import Membership
from rooms.selectors import membership_get, public_room_preview

PAGE_MAX = 100


def message_payloads_page(
    *, user: User, room_id: int, before: int | None = None, after: int | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """A page of the room's history by keyset on id, as message payloads.

    Newest first by default (``before`` pages further back); with ``after`` (and no
    ``before``) oldest first from that id, for reading forward. Raises RoomNotFound for
    non-members, exactly as for a missing room. Read as plain rows, not model instances:
    history is the hottest read, and building instances was most of its cost.
    """
    membership_get(user=user, room_id=room_id)
    limit = max(1, min(limit, PAGE_MAX))
    qs = Message.objects.filter(room_id=room_id)
    if before is not None:
        qs = qs.filter(id__lt=before)
    if after is not None:
        qs = qs.filter(id__gt=after)
    ordering = "id" if (after is not None and before is None) else "-id"
    return message_payloads(list(qs.order_by(ordering).values(*MESSAGE_ROW_FIELDS)[:limit]))


@dataclass(frozen=True)
class SocketSnapshot:
    room_ids: list[int]
    seq: int


def socket_snapshot(*, user_id: int) -> SocketSnapshot:
    """The user's rooms and the latest seq, read in *one* statement (hence one snapshot):
    every event up to ``seq`` is reflected in ``room_ids``, and later ones are not."""
    table_m = Membership._meta.db_table
    table_e = Event._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT MAX(seq) FROM {table_e}), m.room_id"
            f" FROM (SELECT 1) AS one LEFT JOIN {table_m} m ON m.user_id = %s",
            [user_id],
        )
        rows = cursor.fetchall()
    seq = (rows[0][0] if rows else 0) or 0
    return SocketSnapshot(room_ids=[room for _, room in rows if room is not None], seq=seq)


@dataclass(frozen=True)
class HistoryPage:
    messages: list[dict[str, Any]]  # message payloads, oldest first, as the partial renders them
    has_more: bool  # older messages exist
    has_newer: bool = False  # newer messages exist (a page around a message, not the newest)


def history_page(*, user: User, room_id: int, before: int | None = None, limit: int = 50) -> HistoryPage:
    """The page of history that ends just before ``before`` (or the newest), oldest first."""
    newest_first = message_payloads_page(user=user, room_id=room_id, before=before, limit=limit + 1)
    return HistoryPage(
        messages=list(reversed(newest_first[:limit])),
        has_more=len(newest_first) > limit,
    )


def preview_page(*, room_id: int, limit: int = 30) -> HistoryPage:
    """The newest messages of a *public* room, oldest first, for a non-member's read-only look;
    RoomNotFound for any other room, as for a missing one. No paging: joining shows the rest."""
    public_room_preview(room_id=room_id)
    rows = Message.objects.filter(room_id=room_id).order_by("-id").values(*MESSAGE_ROW_FIELDS)[:limit]
    return HistoryPage(messages=list(reversed(message_payloads(list(rows)))), has_more=False)


def history_around(*, user: User, room_id: int, message_id: int, limit: int = 50) -> HistoryPage | None:
    """The page of history centred on ``message_id`` (for a jump to a reply's parent or a search
    result): up to ``limit // 2`` messages before it, it, and what follows, oldest first. None
    when the message is not in this room (the caller shows the newest page instead)."""
    membership_get(user=user, room_id=room_id)
    if not Message.objects.filter(pk=message_id, room_id=room_id).exists():
        return None
    half = max(1, limit // 2)
    older = message_payloads_page(user=user, room_id=room_id, before=message_id + 1, limit=half + 1)
    newer = message_payloads_page(user=user, room_id=room_id, after=message_id, limit=half)
    return HistoryPage(
        messages=list(reversed(older[:half])) + newer,
        has_more=len(older) > half,
        has_newer=len(newer) == half,
    )


@dataclass(frozen=True)
class Thread:
    root: dict[str, Any]
    replies: list[dict[str, Any]]  # oldest first


THREAD_MAX = 200


def message_get(*, user: User, message_id: int) -> dict[str, Any]:
    """One message's payload, or MessageNotFound (also for a message in a room not the user's)."""
    row = Message.objects.filter(pk=message_id).values(*MESSAGE_ROW_FIELDS).first()
    if row is None or not Membership.objects.filter(user=user, room_id=row["room_id"]).exists():
        raise MessageNotFound()
    return message_payloads([row])[0]


def thread(*, user: User, message_id: int) -> Thread:
    """A message and the replies to it (the first THREAD_MAX), oldest first."""
    root = message_get(user=user, message_id=message_id)
    rows = list(
        Message.objects.filter(reply_to_id=message_id).order_by("id").values(*MESSAGE_ROW_FIELDS)[:THREAD_MAX]
    )
    return Thread(root=root, replies=message_payloads(rows))


def revisions(*, user: User, message_id: int) -> list[dict[str, Any]]:
    """Earlier versions of an edited message, newest first (empty once it is deleted)."""
    message_get(user=user, message_id=message_id)
    return [
        {"body": r.body, "written_at": r.written_at.isoformat(), "replaced_at": r.replaced_at.isoformat()}
        for r in MessageRevision.objects.filter(message_id=message_id).order_by("-id")
    ]


# --- unread --------------------------------------------------------------------------------------

# Unread messages are counted up to this many (shown as "99+"): the count reads at most this many
# entries of the (room, id) index past the member's read pointer, however long the history.
UNREAD_CAP = 100


@dataclass(frozen=True)
class Unread:
    """What one member has not read in one room: messages of others after ``last_read``."""

    room_id: int
    last_read: int
    count: int  # at most UNREAD_CAP
    mentions: int  # of those, how many mention the member (by name or @room)

    def payload(self) -> dict[str, Any]:
        return {
            "room": self.room_id,
            "last_read": self.last_read,
            "unread": self.count,
            "unread_capped": self.count >= UNREAD_CAP,
            "mentions": self.mentions,
        }


def unread_in_room(*, user_id: int, room_id: int, last_read: int) -> Unread:
    """Count the unread messages of one room from the newest back, stopping at UNREAD_CAP: an
    index range scan on (room, id) above the pointer, never the room's history. Own messages
    and tombstones are not unread. Mentions are counted among those same (newest) messages."""
    rows = (
        Message.objects.filter(room_id=room_id, id__gt=last_read, deleted_at__isnull=True)
        .exclude(sender_id=user_id)
        .order_by("-id")
        .values_list("mentions", "mentions_room")[:UNREAD_CAP]
    )
    count = mentions = 0
    for mentioned, mentions_room in rows:
        count += 1
        mentions += bool(mentions_room or user_id in mentioned)
    return Unread(room_id=room_id, last_read=last_read, count=count, mentions=mentions)


def unread_for_readers(*, room_id: int, pointers: dict[int, int]) -> dict[int, Unread]:
    """``unread_in_room`` for several members of one room at once (user id → read pointer), from
    one scan of the newest messages above the lowest pointer; a member whose unread messages that
    scan may not all reach is counted alone. Same rules and cap as ``unread_in_room``."""
    lowest = min(pointers.values())
    limit = 4 * UNREAD_CAP
    rows = list(
        Message.objects.filter(room_id=room_id, id__gt=lowest, deleted_at__isnull=True)
        .order_by("-id")
        .values_list("id", "sender_id", "mentions", "mentions_room")[:limit]
    )
    complete = len(rows) < limit  # every message above the lowest pointer is here
    out: dict[int, Unread] = {}
    for user_id, last_read in pointers.items():
        count = mentions = 0
        for message_id, sender_id, mentioned, mentions_room in rows:
            if message_id <= last_read or count == UNREAD_CAP:
                break
            if sender_id != user_id:
                count += 1
                mentions += bool(mentions_room or user_id in mentioned)
        if complete or count == UNREAD_CAP or (rows and rows[-1][0] <= last_read):
            out[user_id] = Unread(room_id=room_id, last_read=last_read, count=count, mentions=mentions)
        else:  # more unread than the scan holds: counted on its own
            out[user_id] = unread_in_room(user_id=user_id, room_id=room_id, last_read=last_read)
    return out


def unread_counts(*, user: User) -> list[Unread]:
    """Unread counts of every room and DM of the user, by room id: one bounded count per room."""
    pointers = (
        Membership.objects.filter(user=user)
        .order_by("room_id")
        .values_list("room_id", "last_read_message_id")
    )
    return [unread_in_room(user_id=user.id, room_id=room_id, last_read=last) for room_id, last in pointers]


def first_unread_id(*, user_id: int, room_id: int, last_read: int) -> int | None:
    """The oldest message of others after the read pointer (the "new messages" divider)."""
    return (
        Message.objects.filter(room_id=room_id, id__gt=last_read, deleted_at__isnull=True)
        .exclude(sender_id=user_id)
        .order_by("id")
        .values_list("id", flat=True)
        .first()
    )


def message_context(*, message_id: int, around: int = 3) -> list[Message]:
    """A message with up to ``around`` messages of its room before and after it, oldest first:
    what a site moderator reads a reported message in (not scoped by membership: the admin's
    report queue only)."""
    message = Message.objects.filter(pk=message_id).only("room_id").first()
    if message is None:
        return []
    rows = Message.objects.select_related("sender").filter(room_id=message.room_id)
    before = list(rows.filter(pk__lt=message_id).order_by("-id")[:around])
    after = list(rows.filter(pk__gte=message_id).order_by("id")[: around + 1])
    return list(reversed(before)) + after


def attachment_for_download(*, user: User, attachment_id: int) -> Attachment:
    """An attachment the user may fetch, or AttachmentNotFound — the same answer for one that
    does not exist. Sent files: members of the room, while the message stands. Files not sent
    yet: their uploader alone (still a member)."""
    attachment = Attachment.objects.select_related("message").filter(pk=attachment_id).first()
    if attachment is None or not user.is_authenticated:
        raise AttachmentNotFound()
    if attachment.message is None:
        visible = attachment.uploader_id == user.id
    else:
        visible = attachment.message.deleted_at is None
    if not visible or not Membership.objects.filter(user=user, room_id=attachment.room_id).exists():
        raise AttachmentNotFound()
    return attachment
