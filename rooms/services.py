"""Every state change of rooms and memberships. Each records its event (chatsite.realtime.events),
so open sockets learn of joins, leaves and removals at once."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.crypto import get_random_string
from django.utils.text import slugify

from accounts.models import ModerationAction, User, UserBlock
from accounts.serialization import user_brief
from accounts.services import clean_reason, moderation_record, password_check, user_delete, user_register
from chatsite.realtime import kinds
from chatsite.realtime.events import event_record, event_writer
from chatsite.validation import clean_text
from rooms.exceptions import Blocked, InvalidNotify, InvalidRoom, NotAllowed, RoomNotFound, UnknownUser
from rooms.models import Membership, Room
from rooms.selectors import membership_get
from rooms.serialization import member_payload, room_brief, room_settings

DIRECT_MAX_PARTICIPANTS = 10
NAME_MAX = 80
TOPIC_MAX = Room._meta.get_field("topic").max_length
DESCRIPTION_MAX = Room._meta.get_field("description").max_length
# What room_update calls each setting, and its longest value.
ROOM_SETTINGS = {
    "name": ("Room name", NAME_MAX),
    "topic": ("Topic", TOPIC_MAX),
    "description": ("Description", DESCRIPTION_MAX),
}


def _record_joined(membership: Membership) -> None:
    event_record(
        kinds.MEMBER_JOINED,
        room_id=membership.room_id,
        payload=member_payload(membership),
        subject_id=membership.user_id,
    )


def _record_gone(
    *, room: Room, user: User, kind: kinds.EventKind, by: User | None = None, named: bool = True
) -> None:
    # An account being deleted leaves its rooms unnamed (``user: null``, as every stored copy
    # becomes), so not even the live frame names it.
    payload = {"room": room_brief(room), "user": user_brief(user) if named else None}
    if by is not None:
        payload["by"] = user_brief(by)
    event_record(kind, room_id=room.id, payload=payload, subject_id=user.id)


def _unique_slug(name: str) -> str:
    base = slugify(name)[:80] or "room"
    slug = base
    while Room.objects.filter(slug=slug).exists():
        slug = f"{base}-{get_random_string(6).lower()}"
    return slug


@event_writer
def room_create(*, creator: User, name: str, kind: str = Room.Kind.PUBLIC, description: str = "") -> Room:
    """Create a public or private room; the creator becomes its owner."""
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX:
        raise InvalidRoom(f"Room name must be 1–{NAME_MAX} characters.", field="name")
    if kind not in (Room.Kind.PUBLIC, Room.Kind.PRIVATE):
        raise InvalidRoom("Kind must be 'public' or 'private' (use direct messages for DMs).", field="kind")
    description = (description or "").strip()
    if len(description) > 500:
        raise InvalidRoom("Description must be at most 500 characters.", field="description")
    room = Room.objects.create(
        name=name, slug=_unique_slug(name), kind=kind, description=description, created_by=creator
    )
    _record_joined(Membership.objects.create(user=creator, room=room, role=Membership.Role.OWNER))
    return room


@event_writer
def room_join(*, user: User, room_id: int) -> Membership:
    """Join a public room (idempotent). Private and direct rooms answer RoomNotFound."""
    room = Room.objects.filter(pk=room_id, kind=Room.Kind.PUBLIC).first()
    if room is None:
        raise RoomNotFound()
    membership, created = Membership.objects.get_or_create(
        user=user, room=room, defaults={"last_read_message_id": room.last_message_id}
    )
    if created:
        _record_joined(membership)
    return membership


@event_writer
def room_leave(*, user: User, room_id: int, account_deleted: bool = False) -> Room:
    """Leave a room or a group conversation (returned). The last owner leaving hands ownership to
    the longest-standing member. ``account_deleted``: the account is going (``account_delete``),
    so ``member.left`` names nobody."""
    membership = membership_get(user=user, room_id=room_id)
    room = membership.room
    if room.is_direct and not room.is_group:
        raise NotAllowed("A one-to-one conversation cannot be left.")
    membership.delete()
    _record_gone(room=room, user=user, kind=kinds.MEMBER_LEFT, named=not account_deleted)
    if room.is_group:
        _group_people_changed(room)
    if (
        membership.role == Membership.Role.OWNER
        and not room.memberships.filter(role=Membership.Role.OWNER).exists()
    ):
        heir = room.memberships.order_by("role", "joined_at", "id").first()  # admins before members
        if heir is not None:
            heir.role = Membership.Role.OWNER
            heir.save(update_fields=["role"])
    return room


@event_writer
def room_update(
    *,
    actor: User,
    room_id: int,
    name: object = None,
    topic: object = None,
    description: object = None,
) -> Room:
    """Change a room's name, topic or description (those given): owners and admins of a public or
    private room, any member of a group conversation (whose name then replaces its people's). Every value is checked before any is stored; a real change records
    ``room.updated`` (with the whole settings and who changed them), so members' pages update.
    Room names need not be unique: rooms are told apart by id, and browsing shows each one's
    description and member count."""
    membership = membership_get(user=actor, room_id=room_id)
    room = membership.room
    if room.is_direct and not room.is_group:
        raise NotAllowed("A one-to-one conversation has no settings.")
    if not room.is_group and not membership.can_manage:
        raise NotAllowed("Only owners and admins can change a room's settings.")
    given = {"name": name, "topic": topic, "description": description}
    changes = {
        field: clean_text(
            value,
            label=ROOM_SETTINGS[field][0],
            max_length=ROOM_SETTINGS[field][1],
            field=field,
            error=InvalidRoom,
            allow_blank=field != "name",
            multiline=False,
        )
        for field, value in given.items()
        if value is not None
    }
    changed = {field: value for field, value in changes.items() if getattr(room, field) != value}
    if not changed:
        return room
    for field, value in changed.items():
        setattr(room, field, value)
    if room.is_group and "name" in changed:
        room.named = True
        changed["named"] = True
    room.save(update_fields=list(changed))
    event_record(
        kinds.ROOM_UPDATED, room_id=room.id, payload={"room": room_settings(room), "by": user_brief(actor)}
    )
    return room


@event_writer
def member_add(*, actor: User, room_id: int, username: str) -> Membership:
    """Add a user to a room: any member of a public room or a group conversation, owners/admins of
    a private one. A one-to-one stays between its two people (start a group instead)."""
    actor_membership = membership_get(user=actor, room_id=room_id)
    room = actor_membership.room
    if room.is_direct and not room.is_group:
        raise NotAllowed("A one-to-one conversation stays between the two of you; start a group instead.")
    if room.is_group and room.memberships.count() >= DIRECT_MAX_PARTICIPANTS:
        raise NotAllowed(f"A group conversation has at most {DIRECT_MAX_PARTICIPANTS} people.")
    if room.kind == Room.Kind.PRIVATE and not actor_membership.can_manage:
        raise NotAllowed("Only owners and admins can invite to a private room.")
    target = User.objects.filter(username__iexact=(username or "").strip(), is_active=True).first()
    if target is None:
        raise UnknownUser(field="username")
    membership, created = Membership.objects.get_or_create(
        user=target, room=room, defaults={"last_read_message_id": room.last_message_id}
    )
    if created:
        _record_joined(membership)
        if room.is_group:
            _group_people_changed(room)
    return membership


def _group_people_changed(room: Room) -> None:
    """Once its people change, a group is no longer the conversation of the set it started with:
    opening a conversation with that set starts a new one, as with any other set."""
    key = f"group:{room.id}"
    if room.direct_key != key:
        room.direct_key = key
        room.save(update_fields=["direct_key"])


@event_writer
def member_remove(*, actor: User, room_id: int, user_id: int, via: str, reason: object = "") -> None:
    """Remove a member (owners/admins; only owners remove admins or owners). Takes effect on the
    removed user's open sockets at once: they receive ``member.removed`` and nothing after it.
    The moderation log keeps who, whom and ``reason``."""
    actor_membership = membership_get(user=actor, room_id=room_id)
    room = actor_membership.room
    if room.is_direct or not actor_membership.can_manage:
        raise NotAllowed("Only owners and admins can remove members.")
    target = Membership.objects.select_related("user").filter(room=room, user_id=user_id).first()
    if target is None:
        raise UnknownUser("That user is not a member of this room.")
    if target.user_id == actor.id:
        raise NotAllowed("Use leave to leave a room.")
    if target.can_manage and actor_membership.role != Membership.Role.OWNER:
        raise NotAllowed("Only owners can remove owners and admins.")
    text = clean_reason(reason)
    target.delete()
    moderation_record(
        actor=actor,
        action=ModerationAction.MEMBER_REMOVE,
        via=via,
        target_user_id=target.user_id,
        room_id=room.id,
        reason=text,
        detail={"room": room.name},
    )
    _record_gone(room=room, user=target.user, kind=kinds.MEMBER_REMOVED, by=actor)


def dm_open(*, user: User, usernames: Iterable[str]) -> tuple[Room, bool]:
    """Get or create the one direct room of ``user`` and ``usernames`` (2–10 participants).

    Returns (room, created). Concurrent calls for the same set get the same room.
    """
    wanted = {(name or "").strip().lower() for name in usernames if isinstance(name, str)}
    wanted.discard(user.username.lower())
    if not wanted:
        raise InvalidRoom("Name at least one other user.", field="usernames")
    others = list(User.objects.alias(name=Lower("username")).filter(name__in=wanted, is_active=True))
    if len(others) != len(wanted):
        found = {u.username.lower() for u in others}
        missing = sorted(wanted - found)
        raise UnknownUser(f"No such user: {', '.join(missing)}.", field="usernames")
    ids = [u.id for u in others]
    if UserBlock.objects.filter(Q(user=user, blocked_id__in=ids) | Q(user_id__in=ids, blocked=user)).exists():
        raise Blocked("You cannot start a direct conversation with someone you blocked or who blocked you.")
    participants = sorted([user, *others], key=lambda u: u.id)
    if len(participants) > DIRECT_MAX_PARTICIPANTS:
        raise InvalidRoom(
            f"A direct conversation has at most {DIRECT_MAX_PARTICIPANTS} participants.", field="usernames"
        )
    key = ",".join(str(u.id) for u in participants)
    existing = Room.objects.filter(direct_key=key).first()
    if existing is not None:
        return existing, False
    try:
        return _dm_create(creator=user, participants=participants, key=key), True
    except IntegrityError:
        return Room.objects.get(direct_key=key), False


@event_writer
def _dm_create(*, creator: User, participants: list[User], key: str) -> Room:
    name = ", ".join(sorted(u.username for u in participants))[:NAME_MAX]
    room = Room.objects.create(
        name=name,
        slug=f"dm-{get_random_string(12).lower()}",
        kind=Room.Kind.DIRECT,
        direct_key=key,
        created_by=creator,
    )
    for participant in participants:
        role = Membership.Role.OWNER if participant == creator else Membership.Role.MEMBER
        _record_joined(Membership.objects.create(user=participant, room=room, role=role))
    return room


@event_writer
def account_register(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    """``accounts.services.user_register``, then join the site's default rooms (``member.joined``
    in each), in one transaction: a new account never starts with an empty sidebar."""
    user = user_register(username=username, password=password, email=email, display_name=display_name)
    for room_id in Room.objects.filter(is_default=True, kind=Room.Kind.PUBLIC).values_list("id", flat=True):
        room_join(user=user, room_id=room_id)
    return user


@transaction.atomic
def rooms_set_default(*, room_ids: list[int], is_default: bool) -> int:
    """Make public rooms default rooms (new accounts join them), or stop; returns how many
    changed. Private and direct rooms are never default: that would put strangers in them."""
    rooms = Room.objects.filter(pk__in=room_ids).exclude(is_default=is_default)
    if is_default:
        rooms = rooms.filter(kind=Room.Kind.PUBLIC)
    return rooms.update(is_default=is_default)


@event_writer
def account_delete(*, user: User, password: str) -> None:
    """Delete ``user``'s account, confirmed with their password (WrongPassword otherwise).

    They first leave each room as ``room_leave`` does (members hear ``member.left``, a last
    owner's rooms pass to an heir), then ``accounts.services.user_delete`` removes the account
    (messages stay, from a "deleted user"; sockets close). Here, not in accounts, because
    leaving rooms is this app's and accounts sits below it; the messages' part (reactions) is
    ``messaging.accounts.account_delete``, which interfaces call. It leaves group conversations too;
    a one-to-one cannot be left: its membership goes with the account.
    """
    password_check(user=user, password=password)
    shared = Membership.objects.filter(user=user).select_related("room")
    for membership in list(shared):
        if not membership.room.is_direct or membership.room.is_group:
            room_leave(user=user, room_id=membership.room_id, account_deleted=True)
    user_delete(user=user)


@transaction.atomic
def membership_notify_set(*, user: User, room_id: int, level: object) -> Membership:
    """What the member is notified of in one of their rooms: all, mentions or muted
    (InvalidNotify otherwise; RoomNotFound for a room they are not in). A setting of theirs
    alone: nothing is broadcast; their pages read it when they load."""
    if level not in Membership.Notify.values:
        raise InvalidNotify(field="level")
    membership = membership_get(user=user, room_id=room_id)
    membership.notify = level
    membership.save(update_fields=["notify"])
    return membership
