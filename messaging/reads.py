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
from chatsite.validation import InvalidNumber, parse_id
from messaging.exceptions import InvalidReadPointer
from messaging.selectors import Unread, unread_in_room
from rooms.exceptions import RoomNotFound
from rooms.models import Membership
from rooms.selectors import membership_get


@transaction.atomic
def read_mark(*, user: User, room_id: object, message_id: object) -> tuple[Unread, bool]:
    """Mark the room read up to ``message_id`` (every message with an id up to it).

    Returns (the reader's unread state, whether the pointer moved). A pointer at or behind the
    current one changes nothing and publishes nothing; one past the room's newest message raises
    InvalidReadPointer; a room the user is not in raises RoomNotFound, as for a missing one.
    When the pointer moves, ``read.updated`` goes to the reader's sockets after commit."""
    try:
        room_id = parse_id(room_id, label="room", minimum=1)
    except InvalidNumber:
        raise RoomNotFound() from None
    try:
        message_id = parse_id(message_id, label="message", field="message", minimum=1)
    except InvalidNumber as exc:
        raise InvalidReadPointer(exc.detail, field="message") from None
    membership = membership_get(user=user, room_id=room_id)
    if message_id > membership.room.last_message_id:
        raise InvalidReadPointer(field="message")
    moved = bool(
        Membership.objects.filter(pk=membership.pk, last_read_message_id__lt=message_id).update(
            last_read_message_id=message_id
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
        transaction.on_commit(
            functools.partial(
                broadcasts.ephemeral_publish, kinds.READ_UPDATED, state.payload(), users=[user.id]
            )
        )
    return state, moved
