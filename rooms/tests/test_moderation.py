"""Room moderation services: mutes, roles, ownership, read-only, archive, and their log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import ModerationLogEntry
from chatsite.exceptions import DomainError, NotFound, PermissionDenied
from chatsite.realtime.models import Event
from conftest import scheduled_broadcasts
from messaging import changes
from messaging import services as messaging
from rooms import moderation, selectors, services
from rooms.exceptions import InvalidModeration, Muted, RoomArchived, RoomReadOnly, UnknownUser
from rooms.models import Membership, Room, RoomMute

pytestmark = pytest.mark.django_db


@pytest.fixture
def cast(make_user, make_room):
    """A room with its owner, an admin and two members; staff and a superuser who are plain
    members; and another room of someone else with a member of its own."""
    owner, admin, member, other = (make_user(n) for n in ("olga", "adam", "mia", "mo"))
    staff = make_user("stan", is_staff=True)
    root = make_user("root", is_staff=True, is_superuser=True)
    room = make_room(owner, members=(admin, member, other, staff, root))
    Membership.objects.filter(room=room, user=admin).update(role="admin")
    elsewhere = make_room(make_user("eve"), name="Elsewhere", members=(make_user("stranger"),))
    return {
        "room": room,
        "owner": owner,
        "admin": admin,
        "member": member,
        "other": other,
        "staff": staff,
        "root": root,
        "elsewhere": elsewhere,
    }


def mute(cast, actor, target, minutes=60, room=None):
    return moderation.member_mute(
        actor=cast[actor],
        room_id=(room or cast["room"]).id,
        user_id=cast[target].id,
        minutes=minutes,
        reason="cool off",
        via="api",
    )


def test_mute_is_logged_broadcast_and_refuses_sends_and_reactions(cast, django_capture_on_commit_callbacks):
    room, member = cast["room"], cast["member"]
    said = messaging.message_send(sender=member, room_id=room.id, body="before").message
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        mute(cast, "admin", "member", minutes=30)
    assert scheduled_broadcasts(callbacks) == [("event_published", "member.updated", member.id)]
    event = Event.objects.get(type="member.updated")
    assert event.payload["mute_reason"] == "cool off"
    assert event.payload["muted_until"] is not None
    entry = ModerationLogEntry.objects.get()
    assert (entry.action, entry.actor, entry.target_user, entry.room_id, entry.interface, entry.reason) == (
        "member.mute",
        cast["admin"],
        member,
        room.id,
        "api",
        "cool off",
    )
    with pytest.raises(Muted) as info:
        messaging.message_send(sender=member, room_id=room.id, body="let me talk")
    assert info.value.code == "muted" and "cool off" in info.value.detail
    with pytest.raises(Muted):
        changes.reaction_toggle(user=member, message_id=said.id, emoji="👍")
    with pytest.raises(Muted):
        changes.message_edit(actor=member, message_id=said.id, body="changed")
    # Reading and deleting one's own message still work; others still post.
    assert changes.message_delete(actor=member, message_id=said.id, via="api").deleted_at is not None
    messaging.message_send(sender=cast["other"], room_id=room.id, body="still here")


def test_a_mute_ends_by_itself_and_outlives_leaving_and_rejoining(cast):
    room, member = cast["room"], cast["member"]
    mute(cast, "owner", "member")
    services.room_leave(user=member, room_id=room.id)
    services.room_join(user=member, room_id=room.id)
    with pytest.raises(Muted):
        messaging.message_send(sender=member, room_id=room.id, body="evading")
    RoomMute.objects.filter(user=member).update(until=timezone.now() - timedelta(seconds=1))
    assert messaging.message_send(sender=member, room_id=room.id, body="back").created


def test_unmute_lifts_it_and_is_logged(cast):
    mute(cast, "owner", "member")
    moderation.member_unmute(
        actor=cast["admin"], room_id=cast["room"].id, user_id=cast["member"].id, via="web"
    )
    assert not RoomMute.objects.exists()
    assert messaging.message_send(sender=cast["member"], room_id=cast["room"].id, body="hi").created
    assert list(ModerationLogEntry.objects.values_list("action", "interface")) == [
        ("member.mute", "api"),
        ("member.unmute", "web"),
    ]
    # Unmuting someone not muted changes nothing.
    moderation.member_unmute(
        actor=cast["admin"], room_id=cast["room"].id, user_id=cast["member"].id, via="web"
    )
    assert ModerationLogEntry.objects.count() == 2


@pytest.mark.parametrize("minutes", [0, -5, 100 * 365 * 24 * 60, "ten", 1.5, None, True])
def test_bad_mute_lengths_are_refused_and_nothing_is_written(cast, minutes):
    with pytest.raises(InvalidModeration) as info:
        mute(cast, "owner", "member", minutes=minutes)
    assert info.value.field == "minutes"
    assert not RoomMute.objects.exists()
    assert not ModerationLogEntry.objects.exists()
    assert not Event.objects.filter(type="member.updated").exists()


def test_a_year_is_the_longest_mute(cast):
    assert mute(cast, "owner", "member", minutes=moderation.MUTE_MAX_MINUTES).until > timezone.now()


# Who may mute whom in the room: (actor, target) → allowed?
MATRIX = [
    ("owner", "admin", True),
    ("owner", "member", True),
    ("admin", "member", True),
    ("admin", "owner", False),
    ("member", "other", False),
    ("staff", "member", False),  # staff status grants nothing in the chat
    ("root", "member", False),  # neither does superuser status
    ("admin", "admin", False),  # nobody mutes themselves
]


@pytest.mark.parametrize(("actor", "target", "allowed"), MATRIX)
def test_who_may_mute_whom(cast, actor, target, allowed):
    if allowed:
        mute(cast, actor, target)
        assert RoomMute.objects.filter(user=cast[target]).exists()
    else:
        with pytest.raises(PermissionDenied):
            mute(cast, actor, target)
        assert not RoomMute.objects.exists()
        assert not ModerationLogEntry.objects.exists()


@pytest.mark.parametrize("actor", ["owner", "admin", "staff", "root"])
def test_nobody_moderates_a_room_they_are_not_in_and_it_looks_missing(cast, actor):
    elsewhere = cast["elsewhere"]
    stranger = elsewhere.memberships.get(role="member").user
    for room_id in (elsewhere.id, 999_999):
        with pytest.raises(NotFound):
            moderation.member_mute(
                actor=cast[actor], room_id=room_id, user_id=stranger.id, minutes=5, via="api"
            )
        with pytest.raises(NotFound):
            moderation.room_moderate(actor=cast[actor], room_id=room_id, read_only=True, via="api")
    assert not ModerationLogEntry.objects.exists()


def test_acting_on_a_user_of_another_room_is_refused(cast):
    stranger = cast["elsewhere"].memberships.get(role="member").user
    with pytest.raises(UnknownUser):
        moderation.member_mute(
            actor=cast["owner"], room_id=cast["room"].id, user_id=stranger.id, minutes=5, via="api"
        )
    with pytest.raises(UnknownUser):
        moderation.member_role_set(
            actor=cast["owner"], room_id=cast["room"].id, user_id=stranger.id, role="admin", via="api"
        )
    assert not ModerationLogEntry.objects.exists()


def test_owner_promotes_and_demotes_admins(cast, django_capture_on_commit_callbacks):
    room, member = cast["room"], cast["member"]
    with django_capture_on_commit_callbacks() as callbacks:
        moderation.member_role_set(
            actor=cast["owner"], room_id=room.id, user_id=member.id, role="admin", via="web"
        )
    assert scheduled_broadcasts(callbacks) == [("event_published", "member.updated", member.id)]
    assert Membership.objects.get(room=room, user=member).role == "admin"
    moderation.member_role_set(
        actor=cast["owner"], room_id=room.id, user_id=member.id, role="member", via="web"
    )
    assert Membership.objects.get(room=room, user=member).role == "member"
    assert [e.detail["to"] for e in ModerationLogEntry.objects.order_by("id")] == ["admin", "member"]


@pytest.mark.parametrize("actor", ["admin", "member", "staff", "root"])
def test_only_owners_change_roles(cast, actor):
    with pytest.raises(PermissionDenied):
        moderation.member_role_set(
            actor=cast[actor], room_id=cast["room"].id, user_id=cast["other"].id, role="admin", via="api"
        )
    assert Membership.objects.get(room=cast["room"], user=cast["other"]).role == "member"


@pytest.mark.parametrize("role", ["owner", "superuser", "", None, 3])
def test_roles_granted_are_admin_or_member(cast, role):
    with pytest.raises(InvalidModeration):
        moderation.member_role_set(
            actor=cast["owner"], room_id=cast["room"].id, user_id=cast["other"].id, role=role, via="api"
        )


def test_ownership_transfer_swaps_owner_and_admin(cast, django_capture_on_commit_callbacks):
    room = cast["room"]
    mute(cast, "owner", "member")
    with django_capture_on_commit_callbacks() as callbacks:
        moderation.room_transfer(actor=cast["owner"], room_id=room.id, user_id=cast["member"].id, via="api")
    roles = dict(Membership.objects.filter(room=room).values_list("user__username", "role"))
    assert (roles["mia"], roles["olga"]) == ("owner", "admin")
    assert not RoomMute.objects.exists()  # an owner is never muted
    assert scheduled_broadcasts(callbacks) == [
        ("event_published", "member.updated", cast["member"].id),
        ("event_published", "member.updated", cast["owner"].id),
    ]
    with pytest.raises(PermissionDenied):  # the former owner is an admin now
        moderation.room_transfer(actor=cast["owner"], room_id=room.id, user_id=cast["other"].id, via="api")


def test_read_only_room_lets_only_owners_and_admins_post(cast, django_capture_on_commit_callbacks):
    room = cast["room"]
    with django_capture_on_commit_callbacks() as callbacks:
        moderation.room_moderate(actor=cast["admin"], room_id=room.id, read_only=True, via="web")
    assert scheduled_broadcasts(callbacks) == [("event_published", "room.updated", None)]
    assert Event.objects.get(type="room.updated").payload["room"]["read_only"] is True
    with pytest.raises(RoomReadOnly) as info:
        messaging.message_send(sender=cast["member"], room_id=room.id, body="hello?")
    assert info.value.code == "read_only"
    assert messaging.message_send(sender=cast["admin"], room_id=room.id, body="announcement").created
    moderation.room_moderate(actor=cast["owner"], room_id=room.id, read_only=False, via="web")
    assert messaging.message_send(sender=cast["member"], room_id=room.id, body="hello!").created
    assert list(ModerationLogEntry.objects.values_list("action", flat=True)) == [
        "room.read_only",
        "room.writable",
    ]


def test_archive_stops_everyone_posting_and_only_owners_archive(cast):
    room = cast["room"]
    with pytest.raises(PermissionDenied):
        moderation.room_moderate(actor=cast["admin"], room_id=room.id, archived=True, via="api")
    with pytest.raises(PermissionDenied):
        moderation.room_moderate(actor=cast["member"], room_id=room.id, read_only=True, via="api")
    moderation.room_moderate(actor=cast["owner"], room_id=room.id, archived=True, via="api")
    assert Room.objects.get(pk=room.id).archived_at is not None
    for who in ("owner", "admin", "member"):
        with pytest.raises(RoomArchived):
            messaging.message_send(sender=cast[who], room_id=room.id, body="anyone?")
    moderation.room_moderate(actor=cast["owner"], room_id=room.id, archived=False, via="api")
    assert messaging.message_send(sender=cast["member"], room_id=room.id, body="back").created


def test_room_admins_delete_any_message_and_it_is_logged(cast):
    room = cast["room"]
    said = messaging.message_send(sender=cast["member"], room_id=room.id, body="spam spam").message
    changes.message_delete(actor=cast["admin"], message_id=said.id, via="websocket", reason="spam")
    entry = ModerationLogEntry.objects.get()
    assert (entry.action, entry.message_id, entry.target_user, entry.reason, entry.interface) == (
        "message.delete",
        said.id,
        cast["member"],
        "spam",
        "websocket",
    )
    own = messaging.message_send(sender=cast["member"], room_id=room.id, body="oops").message
    changes.message_delete(actor=cast["member"], message_id=own.id, via="api")
    assert ModerationLogEntry.objects.count() == 1  # deleting one's own message is no moderation


@pytest.mark.parametrize("actor", ["member", "staff", "root"])
def test_members_staff_and_superusers_cannot_delete_others_messages_in_the_chat(cast, actor):
    said = messaging.message_send(sender=cast["other"], room_id=cast["room"].id, body="mine").message
    with pytest.raises(PermissionDenied):
        changes.message_delete(actor=cast[actor], message_id=said.id, via="api")


def test_removal_is_logged_with_its_reason(cast):
    services.member_remove(
        actor=cast["admin"], room_id=cast["room"].id, user_id=cast["member"].id, via="web", reason="trolling"
    )
    entry = ModerationLogEntry.objects.get()
    assert (entry.action, entry.target_user, entry.reason) == ("member.remove", cast["member"], "trolling")


def test_the_log_is_append_only_and_read_by_the_rooms_managers(cast):
    mute(cast, "owner", "member")
    entry = ModerationLogEntry.objects.get()
    entry.reason = "rewritten"
    with pytest.raises(ValueError):
        entry.save()
    assert [e.action for e in selectors.room_moderation_log(user=cast["admin"], room_id=cast["room"].id)] == [
        "member.mute"
    ]
    with pytest.raises(PermissionDenied):
        selectors.room_moderation_log(user=cast["member"], room_id=cast["room"].id)
    with pytest.raises(NotFound):
        selectors.room_moderation_log(user=cast["owner"], room_id=cast["elsewhere"].id)


def test_a_reason_is_one_short_line(cast):
    with pytest.raises(DomainError) as info:
        moderation.member_mute(
            actor=cast["owner"],
            room_id=cast["room"].id,
            user_id=cast["member"].id,
            minutes=5,
            reason="x" * 501,
            via="api",
        )
    assert getattr(info.value, "field", None) == "reason"
    assert not RoomMute.objects.exists()
