"""Reads of rooms, always scoped through the requesting user's memberships."""

from __future__ import annotations

from django.db.models import Count, F, QuerySet

from accounts.models import User
from rooms.exceptions import RoomNotFound
from rooms.models import Membership, Room


def rooms_for_user(*, user: User) -> QuerySet[Room]:
    """The user's rooms and DMs, most recent activity first."""
    return (
        Room.objects.filter(memberships__user=user)
        .annotate(member_count=Count("memberships", distinct=True))
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
    )


def room_ids_for_user(*, user_id: int) -> list[int]:
    return list(Membership.objects.filter(user_id=user_id).values_list("room_id", flat=True))


def public_rooms(*, search: str = "") -> QuerySet[Room]:
    qs = Room.objects.filter(kind=Room.Kind.PUBLIC).annotate(member_count=Count("memberships"))
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("name", "id")


def membership_get(*, user: User, room_id: int) -> Membership:
    """The user's membership in the room, or RoomNotFound (also when the room does not exist)."""
    try:
        return Membership.objects.select_related("room").get(user=user, room_id=room_id)
    except Membership.DoesNotExist:
        raise RoomNotFound() from None


def room_members(*, user: User, room_id: int) -> QuerySet[Membership]:
    membership_get(user=user, room_id=room_id)
    return Membership.objects.filter(room_id=room_id).select_related("user").order_by("user__username")
