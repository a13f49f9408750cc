"""Reads of rooms, always scoped through the requesting user's memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, F, QuerySet

from accounts.models import User
from chatsite.realtime.presence import presence_of
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


def room_member_count(*, room_id: int) -> int:
    return Membership.objects.filter(room_id=room_id).count()


def room_members(*, user: User, room_id: int) -> QuerySet[Membership]:
    membership_get(user=user, room_id=room_id)
    return Membership.objects.filter(room_id=room_id).select_related("user").order_by("user__username")


def room_detail(*, user: User, room_id: int) -> Room:
    """One of the user's rooms with ``member_count``, or RoomNotFound (as for a missing room)."""
    membership_get(user=user, room_id=room_id)
    return Room.objects.annotate(member_count=Count("memberships")).get(pk=room_id)


def room_label(*, room: Room, user: User) -> str:
    """What a room is called for ``user``: a DM is named after the *other* participants."""
    if not room.is_direct:
        return room.name
    others = [name for name in room.name.split(", ") if name.lower() != user.username.lower()]
    return ", ".join(others) or room.name


@dataclass(frozen=True)
class SidebarEntry:
    room: Room
    label: str


@dataclass(frozen=True)
class Sidebar:
    rooms: list[SidebarEntry]  # public and private, most recent activity first
    directs: list[SidebarEntry]  # DMs and group DMs, most recent activity first


def sidebar(*, user: User) -> Sidebar:
    entries = [SidebarEntry(room=r, label=room_label(room=r, user=user)) for r in rooms_for_user(user=user)]
    return Sidebar(
        rooms=[e for e in entries if not e.room.is_direct],
        directs=[e for e in entries if e.room.is_direct],
    )


def users_sharing_a_room(*, user: User, user_ids: list[int]) -> set[int]:
    """Those of ``user_ids`` who share a room or DM with ``user`` (``user`` included): whose
    presence ``user`` may see."""
    if not user_ids:
        return set()
    mine = Membership.objects.filter(user=user).values("room_id")
    shared = set(
        Membership.objects.filter(room_id__in=mine, user_id__in=user_ids).values_list("user_id", flat=True)
    )
    return shared | ({user.id} & set(user_ids))


@dataclass(frozen=True)
class MemberPresence:
    membership: Membership
    online: bool
    last_seen: datetime | None


def room_members_presence(*, user: User, room_id: int) -> list[MemberPresence]:
    """The room's members with their presence (they all share this room with ``user``), online
    first, each group by username. Read when the member panel opens: presence changes are not
    pushed to big rooms' members."""
    members = list(room_members(user=user, room_id=room_id))
    states = presence_of(m.user_id for m in members)
    entries = []
    for m in members:
        state = states[m.user_id]
        seen = state["last_seen"]
        entries.append(
            MemberPresence(
                membership=m,
                online=state["state"] == "online",
                last_seen=datetime.fromtimestamp(seen, tz=UTC) if seen is not None else m.user.last_seen,
            )
        )
    return sorted(entries, key=lambda entry: not entry.online)  # stable: usernames stay in order
