"""Reads of messages and events, always scoped through the requesting user's memberships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Max, Q

from accounts.models import User
from messaging.events import event_frame
from messaging.models import Event, Message
from messaging.serialization import MESSAGE_ROW_FIELDS, message_payload_from_row
from rooms.models import Membership
from rooms.selectors import membership_get

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
    return [
        message_payload_from_row(row) for row in qs.order_by(ordering).values(*MESSAGE_ROW_FIELDS)[:limit]
    ]


def latest_seq() -> int:
    return Event.objects.aggregate(m=Max("seq"))["m"] or 0


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
class CatchUp:
    frames: list[dict[str, Any]]
    resync: bool


def events_since(*, user_id: int, room_ids: set[int], since: int) -> CatchUp:
    """Every event after ``since`` in the user's rooms (and membership events about the user),
    in seq order; ``resync`` when there are more than CATCHUP_MAX_EVENTS of them or ``since``
    is ahead of anything recorded."""
    limit = settings.CATCHUP_MAX_EVENTS
    if since > latest_seq():
        return CatchUp(frames=[], resync=True)
    events = list(
        Event.objects.filter(Q(room_id__in=room_ids) | Q(subject_id=user_id), seq__gt=since).order_by("seq")[
            : limit + 1
        ]
    )
    if len(events) > limit:
        return CatchUp(frames=[], resync=True)
    return CatchUp(frames=[event_frame(e) for e in events], resync=False)


def events_between(*, after: int, before: int | None = None) -> list[Event] | None:
    """Every recorded event with ``after < seq < before`` (no upper bound without ``before``), in
    seq order, for a hub filling a gap in what the channel layer brought it; None when there are
    more than CATCHUP_MAX_EVENTS (too many to replay: sockets should reconnect and resync)."""
    limit = settings.CATCHUP_MAX_EVENTS
    events = Event.objects.filter(seq__gt=after).order_by("seq")
    if before is not None:
        events = events.filter(seq__lt=before)
    found = list(events[: limit + 1])
    return None if len(found) > limit else found


@dataclass(frozen=True)
class HistoryPage:
    messages: list[dict[str, Any]]  # message payloads, oldest first, as the partial renders them
    has_more: bool


def history_page(*, user: User, room_id: int, before: int | None = None, limit: int = 50) -> HistoryPage:
    """The page of history that ends just before ``before`` (or the newest), oldest first."""
    newest_first = message_payloads_page(user=user, room_id=room_id, before=before, limit=limit + 1)
    return HistoryPage(
        messages=list(reversed(newest_first[:limit])),
        has_more=len(newest_first) > limit,
    )
