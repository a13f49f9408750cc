"""Reads of rooms, always scoped through the requesting user's memberships."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from django.db.models import Count, F, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Lower
from django.utils import timezone

from accounts.models import ModerationLogEntry, User, UserBlock
from chatsite.exceptions import DomainError
from chatsite.realtime.presence import presence_of
from rooms.exceptions import Blocked, Muted, NotAllowed, RoomArchived, RoomNotFound, RoomReadOnly
from rooms.models import Membership, Room, RoomMute


def _member_count() -> Subquery:
    """Each room's member count, as a subquery: counting over a join that is also filtered by
    membership (``memberships__user=...``) would count only the filtered row, 1 for every room."""
    counted = Membership.objects.filter(room=OuterRef("pk")).order_by().values("room").annotate(n=Count("pk"))
    return Subquery(counted.values("n"), output_field=IntegerField())


def rooms_for_user(*, user: User) -> QuerySet[Room]:
    """The user's rooms and DMs, most recent activity first, each with ``member_count``."""
    return (
        Room.objects.filter(memberships__user=user)
        .annotate(member_count=_member_count())
        .order_by(F("last_activity_at").desc(nulls_last=True), "-id")
    )


def room_ids_for_user(*, user_id: int) -> list[int]:
    return list(Membership.objects.filter(user_id=user_id).values_list("room_id", flat=True))


def public_rooms(*, search: str = "") -> QuerySet[Room]:
    qs = Room.objects.filter(kind=Room.Kind.PUBLIC).annotate(member_count=Count("memberships"))
    if search:
        qs = qs.filter(name__icontains=search)
    return qs.order_by("name", "id")


def rooms_suggested(*, user: User, limit: int = 5) -> list[Room]:
    """Public rooms ``user`` is not in, busiest first: what the welcome page suggests."""
    return list(
        public_rooms()
        .exclude(memberships__user=user)
        .order_by("-member_count", F("last_activity_at").desc(nulls_last=True), "name", "id")[:limit]
    )


def public_room_preview(*, room_id: int) -> Room:
    """A public room, with ``member_count``, for any logged-in user to look into before joining.
    RoomNotFound for every other room (private, direct, missing): one answer for all three."""
    room = (
        Room.objects.filter(pk=room_id, kind=Room.Kind.PUBLIC).annotate(member_count=_member_count()).first()
    )
    if room is None:
        raise RoomNotFound()
    return room


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


def _direct_others(*, rooms: list[Room], user: User) -> dict[int, list[tuple[int, str]]]:
    """The *other* participants of each DM among ``rooms``, as (user id, shown name), by
    username, in one query for all."""
    direct_ids = [room.id for room in rooms if room.is_direct]
    others: dict[int, list[tuple[int, str]]] = {room_id: [] for room_id in direct_ids}
    rows = (
        Membership.objects.filter(room_id__in=direct_ids)
        .exclude(user=user)
        .values_list("room_id", "user_id", "user__display_name", "user__username")
        .order_by(Lower("user__username"))
    )
    for room_id, user_id, display_name, username in rows:
        others[room_id].append((user_id, display_name or username))
    return others


def room_labels(*, rooms: list[Room], user: User) -> dict[int, str]:
    """What each room is called for ``user``: its name; a DM (unless its group was given a
    name) is named after the *other* participants, by their shown names (display name, else
    username)."""
    labels = {room.id: room.name for room in rooms if not room.is_direct or room.named}
    others = _direct_others(rooms=[room for room in rooms if room.id not in labels], user=user)
    # Every other participant's account is gone: their messages say "deleted user" too.
    labels.update(
        {
            room_id: ", ".join(name for _, name in people) or "deleted user"
            for room_id, people in others.items()
        }
    )
    return labels


def room_label(*, room: Room, user: User) -> str:
    return room_labels(rooms=[room], user=user)[room.id]


def dm_partner(*, room: Room, user: User) -> int | None:
    """The other person of a 1:1 DM (None for rooms, group DMs, and a DM whose other account is gone)."""
    people = _direct_others(rooms=[room], user=user).get(room.id, [])
    return people[0][0] if len(people) == 1 else None


@dataclass(frozen=True)
class PresenceState:
    state: str  # "online" | "away" | "offline"
    last_seen: datetime | None

    @property
    def online(self) -> bool:
        return self.state == "online"


def presence_states(*, user_ids: list[int]) -> dict[int, PresenceState]:
    """Presence of these users (callers scope who may see whom): from the shared store, except
    those who appear offline, who are offline with the last seen frozen on their account when
    they chose it. One query plus the store's round trips."""
    rows = User.objects.filter(pk__in=user_ids).values_list("pk", "appear_offline", "last_seen")
    hidden = {pk for pk, appear_offline, _ in rows if appear_offline}
    stored = {pk: last_seen for pk, _, last_seen in rows}
    states = presence_of(user_ids, hidden=hidden)
    return {
        u: PresenceState(
            state=state["state"],
            last_seen=(
                datetime.fromtimestamp(state["last_seen"], tz=UTC)
                if state["last_seen"] is not None
                else stored.get(u)
            ),
        )
        for u, state in states.items()
    }


def small_rooms(*, user_id: int, at_most: int) -> dict[int, int]:
    """The user's rooms and DMs of at most ``at_most`` members, with their member counts: whose
    members are told of the user's presence changes (PRESENCE_PUSH_MAX_MEMBERS) and see their
    receipts per person (RECEIPTS_MAX_MEMBERS)."""
    mine = Membership.objects.filter(user_id=user_id).values("room_id")
    return dict(
        Membership.objects.filter(room_id__in=mine)
        .values("room_id")
        .annotate(n=Count("pk"))
        .filter(n__lte=at_most)
        .values_list("room_id", "n")
    )


def room_has_at_most(*, room_id: int, members: int) -> bool:
    """Whether the room has at most this many members, reading at most one more index entry."""
    return Membership.objects.filter(room_id=room_id).values("pk")[: members + 1].count() <= members


@dataclass(frozen=True)
class SidebarEntry:
    room: Room
    label: str
    partner: int | None = None  # the other person of a 1:1 DM
    presence: PresenceState | None = None  # theirs
    partner_user: User | None = None  # them, for their picture
    notify: str = Membership.Notify.MENTIONS  # the user's notification level here


@dataclass(frozen=True)
class Sidebar:
    rooms: list[SidebarEntry]  # public and private, most recent activity first
    directs: list[SidebarEntry]  # DMs and group DMs, most recent activity first


def sidebar(*, user: User) -> Sidebar:
    rooms = list(rooms_for_user(user=user))
    labels = room_labels(rooms=rooms, user=user)
    partners = {
        room_id: people[0][0]
        for room_id, people in _direct_others(rooms=rooms, user=user).items()
        if len(people) == 1
    }
    states = presence_states(user_ids=list(partners.values()))
    people = User.objects.filter(pk__in=partners.values()).only("id", "username", "display_name", "avatar")
    by_id = {person.pk: person for person in people}
    levels = dict(Membership.objects.filter(user=user).values_list("room_id", "notify"))
    entries = [
        SidebarEntry(
            room=r,
            label=labels[r.id],
            partner=partners.get(r.id),
            presence=states.get(partners[r.id]) if r.id in partners else None,
            partner_user=by_id.get(partners.get(r.id)),
            notify=levels.get(r.id, Membership.Notify.MENTIONS),
        )
        for r in rooms
    ]
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
    presence: PresenceState


PRESENCE_ORDER = {"online": 0, "away": 1, "offline": 2}


def room_members_presence(*, user: User, room_id: int) -> list[MemberPresence]:
    """The room's members with their presence (they all share this room with ``user``), online
    first, then away, then offline, each group by username. Read when the member panel opens:
    presence changes are not pushed to big rooms' members."""
    members = list(room_members(user=user, room_id=room_id))
    states = presence_states(user_ids=[m.user_id for m in members])
    entries = [MemberPresence(membership=m, presence=states[m.user_id]) for m in members]
    # stable: usernames stay in order within each state
    return sorted(entries, key=lambda entry: PRESENCE_ORDER[entry.presence.state])


# --- moderation -------------------------------------------------------------------------------


def mute_active(*, room_id: int, user_id: int) -> RoomMute | None:
    return RoomMute.objects.filter(room_id=room_id, user_id=user_id, until__gt=timezone.now()).first()


def post_refusal(*, membership: Membership, mute: RoomMute | None) -> DomainError | None:
    """Why this member may not post, react or edit in their room now (None: they may).

    An archived room refuses everyone; a read-only one everyone but owners and admins; a mute
    (still running) its member."""
    room = membership.room
    if room.archived_at is not None:
        return RoomArchived()
    now = timezone.now()
    user = membership.user
    if user.muted_until is not None and user.muted_until > now:
        return Muted(_muted_detail("on this site", user.muted_until, user.mute_reason))
    if mute is not None and mute.until > now:
        return Muted(_muted_detail("in this room", mute.until, mute.reason))
    if room.read_only and not membership.can_manage:
        return RoomReadOnly()
    return None


def _muted_detail(where: str, until: datetime, reason: str) -> str:
    because = f" Reason: {reason}" if reason else ""
    return f"You are muted {where} until {until.astimezone(UTC):%Y-%m-%d %H:%M} UTC.{because}"


def post_refusals(*, pairs: set[tuple[int, int]]) -> dict[tuple[int, int], DomainError]:
    """``post_refusal`` for many (user id, room id) pairs in two queries (a batch of sends);
    pairs that are not memberships answer RoomNotFound."""
    users = {user_id for user_id, _ in pairs}
    rooms = {room_id for _, room_id in pairs}
    memberships = {
        (m.user_id, m.room_id): m
        for m in Membership.objects.select_related("room", "user").filter(
            user_id__in=users, room_id__in=rooms
        )
    }
    mutes = {
        (m.user_id, m.room_id): m
        for m in RoomMute.objects.filter(user_id__in=users, room_id__in=rooms, until__gt=timezone.now())
    }
    refusals: dict[tuple[int, int], DomainError] = {}
    # Direct rooms only: a sender blocked by another participant (or blocking one) is refused.
    direct = {room_id for (_, room_id), m in memberships.items() if m.room.is_direct}
    if direct:
        for pair in _blocked_in_direct(rooms=direct, senders=users):
            if pair in memberships:
                refusals[pair] = Blocked()
    for pair in pairs:
        if pair in refusals:
            continue
        membership = memberships.get(pair)
        refusal = (
            RoomNotFound()
            if membership is None
            else post_refusal(membership=membership, mute=mutes.get(pair))
        )
        if refusal is not None:
            refusals[pair] = refusal
    return refusals


def _blocked_in_direct(*, rooms: set[int], senders: set[int]) -> set[tuple[int, int]]:
    """(sender, room) pairs of direct rooms where the sender and another participant are on
    either side of a block."""
    participants = list(Membership.objects.filter(room_id__in=rooms).values_list("room_id", "user_id"))
    everyone = {user_id for _, user_id in participants}
    blocks = set(
        UserBlock.objects.filter(
            Q(user_id__in=senders, blocked_id__in=everyone) | Q(blocked_id__in=senders, user_id__in=everyone)
        ).values_list("user_id", "blocked_id")
    )
    if not blocks:
        return set()
    by_room: dict[int, set[int]] = {}
    for room_id, user_id in participants:
        by_room.setdefault(room_id, set()).add(user_id)
    return {
        (sender, room_id)
        for room_id, people in by_room.items()
        for sender in senders & people
        if any((sender, other) in blocks or (other, sender) in blocks for other in people - {sender})
    }


def room_mutes(*, room_id: int) -> dict[int, RoomMute]:
    """The room's running mutes, by user id."""
    return {m.user_id: m for m in RoomMute.objects.filter(room_id=room_id, until__gt=timezone.now())}


MODERATION_LOG_PAGE = 100


def room_moderation_log(*, user: User, room_id: int) -> list[ModerationLogEntry]:
    """The room's moderation log, newest first: its owners and admins only (NotAllowed for other
    members, RoomNotFound for everyone else)."""
    membership = membership_get(user=user, room_id=room_id)
    if not membership.can_manage:
        raise NotAllowed("Only owners and admins can read the room's moderation log.")
    return list(
        ModerationLogEntry.objects.filter(room_id=room_id)
        .select_related("actor", "target_user")
        .order_by("-id")[:MODERATION_LOG_PAGE]
    )
