"""Receipts: how far each member's sockets have received a room (delivered) and read it (seen).

Two pointers per membership, never a row per message: ``last_delivered_message_id``, advanced
when a member's client acknowledges what reached it (a ``delivered`` frame, or REST), and
``last_read_message_id`` (``messaging.reads``). Reading implies delivery, so the delivered state
of a member is the larger of the two. Neither is written by the hub's fan-out: a message's
delivery costs the recipients' clients one acknowledgement each (debounced), and only in rooms
of at most ``RECEIPTS_MAX_MEMBERS``, where receipts are shown per person and pushed live
(``receipt.updated`` to the sockets showing the room). Bigger rooms show a count, read when the
page or REST asks. A member who turned read receipts off is never reported as having read.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F

from accounts.models import User
from accounts.serialization import user_brief
from chatsite.exceptions import DomainError
from chatsite.realtime import broadcasts, kinds
from chatsite.validation import InvalidNumber, parse_id
from messaging.exceptions import InvalidDeliveredPointer
from messaging.models import Message
from rooms.exceptions import RoomNotFound
from rooms.models import Membership
from rooms.selectors import membership_get, room_has_at_most


def receipts_shown_per_person(*, room_id: int) -> bool:
    return room_has_at_most(room_id=room_id, members=settings.RECEIPTS_MAX_MEMBERS)


def receipt_payload(*, room_id: int, user: User, delivered: int, read: int) -> dict[str, Any]:
    """What the room's open pages hear of one member's pointers (``read`` None: not shared)."""
    return {
        "room": room_id,
        "user": user_brief(user),
        "delivered": max(delivered, read),
        "read": read if user.send_read_receipts else None,
    }


def receipt_publish_on_commit(
    *, membership: Membership, user: User, delivered: int, read: int, small: bool | None = None
) -> None:
    """After commit, tell the sockets showing the room (a small one) the member's pointers."""
    if small if small is not None else receipts_shown_per_person(room_id=membership.room_id):
        payload = receipt_payload(room_id=membership.room_id, user=user, delivered=delivered, read=read)
        transaction.on_commit(
            functools.partial(
                broadcasts.ephemeral_publish, kinds.RECEIPT_UPDATED, payload, room_id=membership.room_id
            )
        )


def pointer_ids(*, room_id: object, message_id: object, invalid: type[DomainError]) -> tuple[int, int]:
    """A pointer move's (room id, message id), parsed: RoomNotFound for a bad room id (as for a
    missing room), ``invalid`` for a message id that is not a positive integer."""
    try:
        room_id = parse_id(room_id, label="room", minimum=1)
    except InvalidNumber:
        raise RoomNotFound() from None
    try:
        message_id = parse_id(message_id, label="message", field="message", minimum=1)
    except InvalidNumber as exc:
        raise invalid(exc.detail, field="message") from None
    return room_id, message_id


def pointer_target(
    *, user: User, room_id: object, message_id: object, invalid: type[DomainError]
) -> tuple[Membership, int]:
    """The membership whose pointer (read or delivered) is to move to ``message_id``, checked:
    RoomNotFound for a room the user is not in (or a bad id, alike), ``invalid`` for a message id
    that is not a positive integer or is past the room's newest message."""
    room_id, message_id = pointer_ids(room_id=room_id, message_id=message_id, invalid=invalid)
    membership = membership_get(user=user, room_id=room_id)
    if message_id > membership.room.last_message_id:
        raise invalid(field="message")
    return membership, message_id


@transaction.atomic
def delivered_mark(*, user: User, room_id: object, message_id: object) -> bool:
    """Record that the room's messages up to ``message_id`` reached a socket of ``user``.

    One conditional UPDATE that only moves the pointer forward (returns whether it moved); one
    past the room's newest message raises InvalidDeliveredPointer; a room the user is not in,
    RoomNotFound, as for a missing one. Only in rooms of at most RECEIPTS_MAX_MEMBERS: in a
    bigger one nothing is written (delivery is not shown there). When it moves,
    ``receipt.updated`` goes to the sockets showing the room after commit."""
    membership, message_id = pointer_target(
        user=user, room_id=room_id, message_id=message_id, invalid=InvalidDeliveredPointer
    )
    if not receipts_shown_per_person(room_id=membership.room_id):
        return False
    moved = bool(
        Membership.objects.filter(
            pk=membership.pk,
            last_delivered_message_id__lt=message_id,
            last_read_message_id__lt=message_id,
        ).update(last_delivered_message_id=message_id)
    )
    if moved:
        receipt_publish_on_commit(
            membership=membership,
            user=user,
            delivered=message_id,
            read=membership.last_read_message_id,
            small=True,
        )
    return moved


@transaction.atomic
def delivered_on_connect(*, user: User, room_ids: set[int]) -> int:
    """A socket of ``user`` connected and is current with these (small) rooms: whatever reached
    them while the user was away is delivered now. One read, then one UPDATE per room that moves
    (usually none); returns how many moved."""
    if not room_ids:
        return 0
    behind = list(
        Membership.objects.filter(
            user=user,
            room_id__in=room_ids,
            last_delivered_message_id__lt=F("room__last_message_id"),
            last_read_message_id__lt=F("room__last_message_id"),
        ).values_list("pk", "room_id", "room__last_message_id", "last_read_message_id")
    )
    moved = 0
    for pk, room_id, newest, read in behind:
        if Membership.objects.filter(pk=pk, last_delivered_message_id__lt=newest).update(
            last_delivered_message_id=newest
        ):
            moved += 1
            payload = receipt_payload(room_id=room_id, user=user, delivered=newest, read=read)
            transaction.on_commit(
                functools.partial(
                    broadcasts.ephemeral_publish, kinds.RECEIPT_UPDATED, payload, room_id=room_id
                )
            )
    return moved


@dataclass(frozen=True)
class Receipts:
    room_id: int
    latest: int  # the room's newest message (not deleted), 0: none
    latest_sender: int | None
    # Per person (rooms of at most RECEIPTS_MAX_MEMBERS): each other member's pointers.
    pointers: list[dict[str, Any]] | None
    # Of the latest message: how many members other than its sender have it, and have read it.
    delivered: int
    seen: int

    def payload(self) -> dict[str, Any]:
        return {
            "room": self.room_id,
            "latest": self.latest,
            "latest_sender": self.latest_sender,
            "pointers": self.pointers,
            "delivered": self.delivered,
            "seen": self.seen,
        }


def room_receipts(*, user: User, room_id: int) -> Receipts:
    """Receipts of one of ``user``'s rooms (RoomNotFound otherwise): every other member's
    pointers in a small room, and for any room the counts of the latest message. One query for
    the room's memberships with their users (bounded by the room's size), one for the latest
    message."""
    membership_get(user=user, room_id=room_id)
    latest = (
        Message.objects.filter(room_id=room_id, deleted_at__isnull=True)
        .order_by("-id")
        .values_list("id", "sender_id")
        .first()
    )
    latest_id, sender_id = latest if latest else (0, None)
    small = receipts_shown_per_person(room_id=room_id)
    members = Membership.objects.filter(room_id=room_id).select_related("user")
    pointers: list[dict[str, Any]] = []
    delivered = seen = 0
    for m in members.only(
        "last_read_message_id", "last_delivered_message_id", "user__username", "user__display_name",
        "user__send_read_receipts", "room_id",
    ):  # fmt: skip
        shared = receipt_payload(
            room_id=room_id, user=m.user, delivered=m.last_delivered_message_id, read=m.last_read_message_id
        )
        if latest_id and m.user_id != sender_id:
            delivered += shared["delivered"] >= latest_id
            seen += shared["read"] is not None and shared["read"] >= latest_id
        if small and m.user_id != user.id:
            pointers.append(shared)
    return Receipts(
        room_id=room_id,
        latest=latest_id,
        latest_sender=sender_id,
        pointers=pointers if small else None,
        delivered=delivered,
        seen=seen,
    )
