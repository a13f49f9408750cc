"""Reading: the member's read pointer, the one write behind unread counts and mention badges.

A pointer per membership (``Membership.last_read_message_id``), never a row per message read:
marking read is one conditional UPDATE that only ever moves it forward. Every socket of the
reader hears the new state (``read.updated``, ephemeral), so other tabs and devices update their
badges at once.
"""

from __future__ import annotations

import functools

from django.db import transaction

from accounts.models import User
from chatsite.realtime import broadcasts, kinds
from messaging.exceptions import InvalidReadPointer
from messaging.receipts import delivered_through, pointer_target, receipt_publish_on_commit
from messaging.selectors import Unread, unread_in_room
from rooms.models import Membership


@transaction.atomic
def read_mark(*, user: User, room_id: object, message_id: object) -> tuple[Unread, bool]:
    """Mark the room read up to ``message_id`` (every message with an id up to it).

    Returns (the reader's unread state, whether the pointer moved). A pointer at or behind the
    current one changes nothing and publishes nothing; one past the room's newest message raises
    InvalidReadPointer; a room the user is not in raises RoomNotFound, as for a missing one.
    When the pointer moves, ``read.updated`` goes to the reader's sockets after commit, and in a
    small room ``receipt.updated`` to the sockets showing it (reading is delivery too)."""
    membership, message_id = pointer_target(
        user=user, room_id=room_id, message_id=message_id, invalid=InvalidReadPointer
    )
    room_id = membership.room_id
    moved = bool(
        Membership.objects.filter(pk=membership.pk, last_read_message_id__lt=message_id).update(
            last_read_message_id=message_id, last_delivered_message_id=delivered_through(message_id)
        )
    )
    if moved:
        last_read = message_id
    else:  # behind the pointer, which another tab may have moved meanwhile: report what is stored
        last_read = Membership.objects.filter(pk=membership.pk).values_list(
            "last_read_message_id", flat=True
        )[0]
    state = unread_in_room(user_id=user.id, room_id=room_id, last_read=last_read)
    if moved:
        receipt_publish_on_commit(
            membership=membership,
            user=user,
            delivered=membership.last_delivered_message_id,
            read=message_id,
        )
        transaction.on_commit(
            functools.partial(
                broadcasts.ephemeral_publish, kinds.READ_UPDATED, state.payload(), users=[user.id]
            )
        )
    return state, moved
