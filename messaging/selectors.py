"""Reads of messages and events, always scoped through the requesting user's memberships."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection

from accounts.models import User
from chatsite.realtime.models import Event
from messaging.models import Message
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
    has_more: bool


def history_page(*, user: User, room_id: int, before: int | None = None, limit: int = 50) -> HistoryPage:
    """The page of history that ends just before ``before`` (or the newest), oldest first."""
    newest_first = message_payloads_page(user=user, room_id=room_id, before=before, limit=limit + 1)
    return HistoryPage(
        messages=list(reversed(newest_first[:limit])),
        has_more=len(newest_first) > limit,
    )
