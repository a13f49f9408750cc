"""Room moderation by a room's owners and admins: mutes, roles, ownership, read-only, archive.

Every action checks the actor's role in that room (staff status grants nothing here: site
moderators act through the Django admin), writes, appends to the moderation log in the same
transaction, and records its event, so open pages on every process follow at once and a
reconnecting page catches up. Removal (``services.member_remove``) and message deletion
(``messaging.changes.message_delete``) log themselves the same way.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.models import ModerationAction, User
from accounts.serialization import user_brief
from accounts.services import clean_reason, moderation_record
from chatsite.realtime import kinds
from chatsite.realtime.events import event_record, event_writer
from chatsite.validation import InvalidNumber, parse_id
from rooms.exceptions import InvalidModeration, NotAllowed, UnknownUser
from rooms.models import Membership, Room, RoomMute
from rooms.selectors import membership_get, mute_active
from rooms.serialization import member_state, room_settings

MUTE_MAX_MINUTES = 366 * 24 * 60  # a year (a leap one)
ROLES_GRANTED = (Membership.Role.ADMIN, Membership.Role.MEMBER)


def clean_minutes(value: object) -> int:
    """A mute's length in minutes: 1 to a year."""
    try:
        minutes = parse_id(value, label="minutes", field="minutes", minimum=1)
    except InvalidNumber:
        raise InvalidModeration(
            f"minutes must be a whole number from 1 to {MUTE_MAX_MINUTES} (a year).", field="minutes"
        ) from None
    if minutes > MUTE_MAX_MINUTES:
        raise InvalidModeration(f"A mute lasts at most a year ({MUTE_MAX_MINUTES} minutes).", field="minutes")
    return minutes


def _manager_of(*, actor: User, room_id: int) -> Membership:
    """The actor's membership of a room they manage (RoomNotFound if not a member at all)."""
    membership = membership_get(user=actor, room_id=room_id)
    if membership.room.is_direct:
        raise NotAllowed("A direct conversation has no moderators.")
    if not membership.can_manage:
        raise NotAllowed("Only owners and admins can moderate this room.")
    return membership


def _target(*, manager: Membership, user_id: object) -> Membership:
    """A member of the manager's room whom the manager may act on: not themselves; owners and
    admins only by an owner."""
    try:
        user_id = parse_id(user_id, label="user", field="user", minimum=1)
    except InvalidNumber:
        raise UnknownUser("That user is not a member of this room.", field="user") from None
    target = (
        Membership.objects.select_related("user", "room")
        .select_for_update(of=("self",))
        .filter(room_id=manager.room_id, user_id=user_id)
        .first()
    )
    if target is None:
        raise UnknownUser("That user is not a member of this room.", field="user")
    if target.user_id == manager.user_id:
        raise NotAllowed("You cannot do this to yourself.")
    if target.role == Membership.Role.OWNER or (target.can_manage and manager.role != Membership.Role.OWNER):
        raise NotAllowed("Only owners can act on admins, and nobody on an owner.")
    return target


def _member_moderated(
    target: Membership, *, actor: User, action: ModerationAction, via: str, reason: str = "", **detail: object
) -> None:
    """Log a moderation of a member (with the room's name) and tell the room: member.updated."""
    moderation_record(
        actor=actor,
        action=action,
        via=via,
        target_user_id=target.user_id,
        room_id=target.room_id,
        reason=reason,
        detail={**detail, "room": target.room.name},
    )
    _record_member(target, by=actor)


def _record_member(target: Membership, *, by: User) -> None:
    event_record(
        kinds.MEMBER_UPDATED,
        room_id=target.room_id,
        payload={
            **member_state(target, mute_active(room_id=target.room_id, user_id=target.user_id)),
            "by": user_brief(by),
        },
        subject_id=target.user_id,
    )


@event_writer
def member_mute(
    *, actor: User, room_id: int, user_id: object, minutes: object, reason: object = "", via: str
) -> RoomMute:
    """Mute a member for ``minutes`` (1 to a year): they keep reading, and their posts,
    reactions and edits are refused (``muted``) until it ends. Muting a muted member sets a
    new end. Records ``member.updated``."""
    manager = _manager_of(actor=actor, room_id=room_id)
    target = _target(manager=manager, user_id=user_id)
    until = timezone.now() + timedelta(minutes=clean_minutes(minutes))
    text = clean_reason(reason)
    mute, _ = RoomMute.objects.update_or_create(
        room_id=room_id, user=target.user, defaults={"until": until, "reason": text, "by": actor}
    )
    _member_moderated(
        target,
        actor=actor,
        action=ModerationAction.MEMBER_MUTE,
        via=via,
        reason=text,
        until=until.isoformat(),
    )
    return mute


@event_writer
def member_unmute(*, actor: User, room_id: int, user_id: object, via: str) -> None:
    """Lift a member's mute (a member who is not muted: nothing changes, nothing is logged)."""
    manager = _manager_of(actor=actor, room_id=room_id)
    target = _target(manager=manager, user_id=user_id)
    deleted, _ = RoomMute.objects.filter(room_id=room_id, user=target.user).delete()
    if not deleted:
        return
    _member_moderated(target, actor=actor, action=ModerationAction.MEMBER_UNMUTE, via=via)


@event_writer
def member_role_set(*, actor: User, room_id: int, user_id: object, role: object, via: str) -> Membership:
    """Make a member an admin, or an admin a member: the room's owners only. Ownership moves
    with ``room_transfer`` instead."""
    manager = _manager_of(actor=actor, room_id=room_id)
    if manager.role != Membership.Role.OWNER:
        raise NotAllowed("Only owners can change roles.")
    if role not in ROLES_GRANTED:
        raise InvalidModeration(
            "role must be 'admin' or 'member' (use transfer for ownership).", field="role"
        )
    target = _target(manager=manager, user_id=user_id)
    if target.role == role:
        return target
    previous, target.role = target.role, role
    target.save(update_fields=["role"])
    _member_moderated(
        target, actor=actor, action=ModerationAction.ROLE_CHANGE, via=via, to=role, **{"from": previous}
    )
    return target


@event_writer
def room_transfer(*, actor: User, room_id: int, user_id: object, via: str) -> Membership:
    """Hand the room to another member: they become its owner and the actor an admin."""
    manager = _manager_of(actor=actor, room_id=room_id)
    if manager.role != Membership.Role.OWNER:
        raise NotAllowed("Only the owner can transfer ownership.")
    target = _target(manager=manager, user_id=user_id)
    RoomMute.objects.filter(room_id=room_id, user=target.user).delete()  # an owner is never muted
    target.role, manager.role = Membership.Role.OWNER, Membership.Role.ADMIN
    target.save(update_fields=["role"])
    manager.save(update_fields=["role"])
    _member_moderated(target, actor=actor, action=ModerationAction.OWNER_TRANSFER, via=via)
    _record_member(Membership.objects.select_related("user", "room").get(pk=manager.pk), by=actor)
    return target


@event_writer
def room_moderate(
    *, actor: User, room_id: int, read_only: bool | None = None, archived: bool | None = None, via: str
) -> Room:
    """Make a room read-only (announcements: owners and admins post) or not — owners and admins;
    archive it (nobody posts; members keep its history) or bring it back — owners only.
    A real change records ``room.updated``."""
    manager = _manager_of(actor=actor, room_id=room_id)
    room = manager.room
    actions = []
    if read_only is not None and read_only != room.read_only:
        room.read_only = read_only
        actions.append(ModerationAction.ROOM_READ_ONLY if read_only else ModerationAction.ROOM_WRITABLE)
    if archived is not None and archived != (room.archived_at is not None):
        if manager.role != Membership.Role.OWNER:
            raise NotAllowed("Only owners can archive a room.")
        room.archived_at = timezone.now() if archived else None
        actions.append(ModerationAction.ROOM_ARCHIVE if archived else ModerationAction.ROOM_UNARCHIVE)
    if not actions:
        return room
    room.save(update_fields=["read_only", "archived_at"])
    for action in actions:
        moderation_record(actor=actor, action=action, via=via, room_id=room.id, detail={"room": room.name})
    event_record(
        kinds.ROOM_UPDATED, room_id=room.id, payload={"room": room_settings(room), "by": user_brief(actor)}
    )
    return room
