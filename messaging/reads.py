"""Reading: the member's read pointer, the one write behind unread counts and mention badges.

A pointer per membership (``Membership.last_read_message_id``), never a row per message read:
marking read is a conditional UPDATE that only ever moves it forward. Every socket of the
reader hears the new state (``read.updated``, ephemeral), so other tabs and devices update their
badges at once. Every open page reports reads (about one a second while messages arrive), so a
server process marks its sockets' reads together (``messaging.batching``): one transaction, one
UPDATE and one publication for the lot.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import BigIntegerField, Case, Value, When
from django.db.models.functions import Greatest

from accounts.models import User
from chatsite.exceptions import DomainError
from chatsite.realtime import broadcasts, kinds
from messaging.exceptions import InvalidReadPointer
from messaging.receipts import pointer_ids, receipt_payload, receipts_shown_per_person
from messaging.selectors import Unread, unread_for_readers
from rooms.exceptions import RoomNotFound
from rooms.models import Membership


@dataclass(frozen=True)
class ReadRequest:
    user: User
    room_id: object
    message_id: object


def read_mark(*, user: User, room_id: object, message_id: object) -> tuple[Unread, bool]:
    """Mark the room read up to ``message_id`` (every message with an id up to it).

    Returns (the reader's unread state, whether the pointer moved). A pointer at or behind the
    current one changes nothing and publishes nothing; one past the room's newest message raises
    InvalidReadPointer; a room the user is not in raises RoomNotFound, as for a missing one.
    When the pointer moves, ``read.updated`` goes to the reader's sockets after commit, and in a
    small room ``receipt.updated`` to the sockets showing it (reading is delivery too)."""
    (outcome,) = read_mark_many(reads=[ReadRequest(user=user, room_id=room_id, message_id=message_id)])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


@transaction.atomic
def read_mark_many(*, reads: Sequence[ReadRequest]) -> list[tuple[Unread, bool] | DomainError]:
    """``read_mark`` for several reads at once, with the same rules; returns, in order, what it
    would have returned or raised for each. Several reads of one membership move it to the
    highest; its reader hears one ``read.updated`` with the state after all of them."""
    outcomes: list[Any] = [None] * len(reads)
    asked: dict[int, tuple[int, int]] = {}  # request index → (room id, message id)
    for index, read in enumerate(reads):
        try:
            asked[index] = pointer_ids(
                room_id=read.room_id, message_id=read.message_id, invalid=InvalidReadPointer
            )
        except DomainError as exc:
            outcomes[index] = exc
    found = Membership.objects.select_related("room").filter(
        user_id__in={reads[i].user.id for i in asked}, room_id__in={room for room, _ in asked.values()}
    )
    memberships = {(m.user_id, m.room_id): m for m in found}
    pointer: dict[int, int] = {}  # membership pk → its read pointer once these reads are marked
    moves: dict[int, tuple[Membership, bool]] = {}  # request index → (membership, moved)
    for index, (room_id, message_id) in asked.items():
        membership = memberships.get((reads[index].user.id, room_id))
        if membership is None:
            outcomes[index] = RoomNotFound()
        elif message_id > membership.room.last_message_id:
            outcomes[index] = InvalidReadPointer(field="message")
        else:
            before = pointer.get(membership.pk, membership.last_read_message_id)
            pointer[membership.pk] = max(before, message_id)
            moves[index] = (membership, message_id > before)
    moved = {m.pk: m for m, did in moves.values() if did}
    if moved:
        # Greatest: a pointer another process moved further meanwhile stays where it is.
        target = Case(*(When(pk=pk, then=Value(pointer[pk])) for pk in moved), output_field=BigIntegerField())
        Membership.objects.filter(pk__in=moved).update(
            last_read_message_id=Greatest("last_read_message_id", target),
            last_delivered_message_id=Greatest("last_delivered_message_id", target),
        )
    stored = {
        pk: (read, delivered)
        for pk, read, delivered in Membership.objects.filter(
            pk__in={m.pk for m, _ in moves.values()}
        ).values_list("pk", "last_read_message_id", "last_delivered_message_id")
    }
    by_room: dict[int, dict[int, int]] = {}
    for membership, _ in moves.values():
        by_room.setdefault(membership.room_id, {})[membership.user_id] = stored[membership.pk][0]
    states = {
        (user_id, room_id): state
        for room_id, pointers in by_room.items()
        for user_id, state in unread_for_readers(room_id=room_id, pointers=pointers).items()
    }
    for index, (membership, did) in moves.items():
        outcomes[index] = (states[membership.user_id, membership.room_id], did)
    _publish_on_commit(reads, moves, stored, states)
    return outcomes


def _publish_on_commit(
    reads: Sequence[ReadRequest],
    moves: dict[int, tuple[Membership, bool]],
    stored: dict[int, tuple[int, int]],
    states: dict[tuple[int, int], Unread],
) -> None:
    """After commit, in one publication: each moved reader's ``read.updated``, and in small rooms
    the ``receipt.updated`` of the room's open pages."""
    readers = {m.pk: (m, reads[index].user) for index, (m, did) in moves.items() if did}
    small = {
        room_id: receipts_shown_per_person(room_id=room_id)
        for room_id in {m.room_id for m, _ in readers.values()}
    }
    published: list[broadcasts.Ephemeral] = []
    for membership, user in readers.values():
        read, delivered = stored[membership.pk]
        state = states[membership.user_id, membership.room_id]
        published.append(broadcasts.Ephemeral(kinds.READ_UPDATED, state.payload(), {"users": [user.id]}))
        if small[membership.room_id]:
            payload = receipt_payload(room_id=membership.room_id, user=user, delivered=delivered, read=read)
            published.append(
                broadcasts.Ephemeral(kinds.RECEIPT_UPDATED, payload, {"room_id": membership.room_id})
            )
    if published:
        transaction.on_commit(functools.partial(broadcasts.ephemeral_publish_many, published))
