import pytest

from accounts.exceptions import RegistrationError, WrongPassword
from accounts.models import User
from chatsite.exceptions import NotFound, PermissionDenied
from chatsite.realtime.models import Event
from conftest import PASSWORD, scheduled_broadcasts
from rooms import selectors, services
from rooms.exceptions import InvalidRoom, UnknownUser
from rooms.models import Membership, Room

pytestmark = pytest.mark.django_db


def test_room_create_makes_creator_owner_and_broadcasts_join(make_user, django_capture_on_commit_callbacks):
    owner = make_user("olga")
    with django_capture_on_commit_callbacks() as callbacks:
        room = services.room_create(
            creator=owner, name="  Design Team ", kind="private", description="pixels"
        )
    assert (room.name, room.kind, room.slug) == ("Design Team", "private", "design-team")
    assert Membership.objects.get(room=room).role == "owner"
    assert scheduled_broadcasts(callbacks) == [("event_published", "member.joined", owner.id)]


@pytest.mark.parametrize(
    ("name", "kind", "field"),
    [("", "public", "name"), ("x" * 81, "public", "name"), ("ok", "direct", "kind")],
)
def test_room_create_rejects_bad_input_and_writes_nothing(make_user, name, kind, field):
    with pytest.raises(InvalidRoom) as info:
        services.room_create(creator=make_user(), name=name, kind=kind)
    assert info.value.field == field
    assert not Room.objects.exists()
    assert not Event.objects.exists()


def test_slugs_stay_unique(make_user):
    first = services.room_create(creator=make_user(), name="General")
    second = services.room_create(creator=make_user(), name="General")
    assert first.slug == "general"
    assert second.slug.startswith("general-") and second.slug != first.slug


def test_join_public_room_once(make_user, make_room, django_capture_on_commit_callbacks):
    room = make_room()
    user = make_user()
    with django_capture_on_commit_callbacks() as callbacks:
        services.room_join(user=user, room_id=room.id)
        services.room_join(user=user, room_id=room.id)
    assert Membership.objects.filter(room=room, user=user).count() == 1
    assert scheduled_broadcasts(callbacks) == [("event_published", "member.joined", user.id)]


def test_private_and_missing_rooms_cannot_be_joined_and_look_the_same(make_user, make_room):
    private = make_room(kind="private")
    user = make_user()
    for room_id in (private.id, 999_999):
        with pytest.raises(NotFound) as info:
            services.room_join(user=user, room_id=room_id)
        assert info.value.detail == "Not found."


def test_private_room_invites_only_by_owner_or_admin(make_user, make_room):
    owner, member, guest = make_user(), make_user(), make_user()
    room = make_room(owner, kind="private", members=(member,))
    with pytest.raises(PermissionDenied):
        services.member_add(actor=member, room_id=room.id, username=guest.username)
    with pytest.raises(NotFound):
        services.member_add(actor=guest, room_id=room.id, username=guest.username)
    services.member_add(actor=owner, room_id=room.id, username=guest.username.upper())
    assert Membership.objects.filter(room=room, user=guest).exists()


def test_public_room_members_can_add_others(make_user, make_room):
    owner, member, friend = make_user(), make_user(), make_user()
    room = make_room(owner, members=(member,))
    services.member_add(actor=member, room_id=room.id, username=friend.username)
    assert Membership.objects.filter(room=room, user=friend).exists()


def test_add_unknown_user(make_user, make_room):
    room = make_room()
    owner = room.created_by
    with pytest.raises(UnknownUser):
        services.member_add(actor=owner, room_id=room.id, username="nobody")


def test_remove_member_records_removal(make_user, make_room, django_capture_on_commit_callbacks):
    owner, member = make_user(), make_user()
    room = make_room(owner, members=(member,))
    with django_capture_on_commit_callbacks() as callbacks:
        services.member_remove(actor=owner, room_id=room.id, user_id=member.id, via="api")
    assert not Membership.objects.filter(room=room, user=member).exists()
    assert scheduled_broadcasts(callbacks) == [("event_published", "member.removed", member.id)]
    assert Event.objects.filter(type="member.removed").get().payload["by"]["id"] == owner.id


def test_members_cannot_remove_and_admins_cannot_remove_owners(make_user, make_room):
    owner, admin, member = make_user(), make_user(), make_user()
    room = make_room(owner, members=(admin, member))
    Membership.objects.filter(room=room, user=admin).update(role="admin")
    with pytest.raises(PermissionDenied):
        services.member_remove(actor=member, room_id=room.id, user_id=admin.id, via="api")
    with pytest.raises(PermissionDenied):
        services.member_remove(actor=admin, room_id=room.id, user_id=owner.id, via="api")
    services.member_remove(actor=admin, room_id=room.id, user_id=member.id, via="api")
    assert Membership.objects.filter(room=room).count() == 2


def test_leave_hands_ownership_on(make_user, make_room, django_capture_on_commit_callbacks):
    owner, member = make_user(), make_user()
    room = make_room(owner, members=(member,))
    with django_capture_on_commit_callbacks() as callbacks:
        services.room_leave(user=owner, room_id=room.id)
    assert Membership.objects.get(room=room).role == "owner"
    assert scheduled_broadcasts(callbacks) == [("event_published", "member.left", owner.id)]
    with pytest.raises(NotFound):
        services.room_leave(user=owner, room_id=room.id)


def test_dm_get_or_create_is_one_room_per_participant_set(make_user, django_capture_on_commit_callbacks):
    ann, ben, cat = make_user("ann"), make_user("ben"), make_user("cat")
    with django_capture_on_commit_callbacks() as callbacks:
        room, created = services.dm_open(user=ann, usernames=["BEN"])
    assert created and room.kind == "direct"
    assert sorted(scheduled_broadcasts(callbacks)) == sorted(
        [("event_published", "member.joined", ann.id), ("event_published", "member.joined", ben.id)]
    )
    again, created_again = services.dm_open(user=ben, usernames=["ann", "ben"])
    assert (again, created_again) == (room, False)
    group, created_group = services.dm_open(user=cat, usernames=["ann", "ben"])
    assert created_group and group != room
    assert set(group.memberships.values_list("user__username", flat=True)) == {"ann", "ben", "cat"}
    with pytest.raises(PermissionDenied):
        services.room_leave(user=ann, room_id=room.id)


def test_dm_validation(make_user):
    ann = make_user("ann")
    with pytest.raises(InvalidRoom):
        services.dm_open(user=ann, usernames=["ann"])
    with pytest.raises(UnknownUser):
        services.dm_open(user=ann, usernames=["ghost"])
    others = [make_user(f"p{i}").username for i in range(10)]
    with pytest.raises(InvalidRoom):
        services.dm_open(user=ann, usernames=others)
    assert not Room.objects.exists()


def test_account_delete_leaves_each_room_and_hands_ownership_on(
    make_user, django_capture_on_commit_callbacks
):
    olga, bob = make_user("olga"), make_user("bob")
    room = services.room_create(creator=olga, name="Team")
    services.room_join(user=bob, room_id=room.id)
    dm, _ = services.dm_open(user=olga, usernames=["bob"])
    with django_capture_on_commit_callbacks() as callbacks:
        services.account_delete(user=olga, password=PASSWORD)
    assert not User.objects.filter(username="olga").exists()
    assert Membership.objects.get(room=room).user == bob
    assert Membership.objects.get(room=room).role == "owner"
    assert list(Membership.objects.filter(room=dm).values_list("user__username", flat=True)) == ["bob"]
    left = Event.objects.get(room_id=room.id, type="member.left")
    assert left.payload["user"] is None  # the log keeps it, naming nobody: the account is gone
    assert left.subject_id is None
    names = [name for name, _type, _subject in scheduled_broadcasts(callbacks)]
    assert names == ["event_published", "accounts_sockets_close"]


def test_account_delete_with_a_wrong_password_changes_nothing(make_user, django_capture_on_commit_callbacks):
    olga = make_user("olga")
    room = services.room_create(creator=olga, name="Team")
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(WrongPassword):
        services.account_delete(user=olga, password="guess")
    assert callbacks == []
    assert Membership.objects.filter(room=room, user=olga, role="owner").exists()


def test_a_dm_is_labelled_by_the_other_participants_shown_names(make_user):
    olga, bob = make_user("olga"), make_user("bob", display_name="Bob Builder")
    make_user("cy")
    pair, _ = services.dm_open(user=olga, usernames=["bob"])
    group, _ = services.dm_open(user=olga, usernames=["bob", "cy"])
    team = services.room_create(creator=olga, name="Team")
    labels = selectors.room_labels(rooms=[pair, group, team], user=olga)
    assert labels == {pair.id: "Bob Builder", group.id: "Bob Builder, cy", team.id: "Team"}
    assert selectors.room_label(room=group, user=bob) == "cy, olga"  # by username
    services.account_delete(user=bob, password=PASSWORD)
    assert selectors.room_label(room=pair, user=olga) == "deleted user"


def test_a_new_account_joins_the_default_rooms(make_user, django_capture_on_commit_callbacks):
    olga = make_user("olga")
    lobby = services.room_create(creator=olga, name="Lobby")
    services.room_create(creator=olga, name="Quiet")
    secret = services.room_create(creator=olga, name="Secret", kind="private")
    assert services.rooms_set_default(room_ids=[lobby.id, secret.id], is_default=True) == 1  # public only
    Room.objects.filter(pk=secret.pk).update(is_default=True)  # even if one were flagged by hand
    with django_capture_on_commit_callbacks() as callbacks:
        user = services.account_register(username="newbie", password=PASSWORD, display_name="New Bie")
    assert list(Membership.objects.filter(user=user).values_list("room__name", flat=True)) == ["Lobby"]
    assert scheduled_broadcasts(callbacks) == [("event_published", "member.joined", user.id)]
    assert user.display_name == "New Bie"


def test_registration_refused_joins_nothing(make_user):
    lobby = services.room_create(creator=make_user("olga"), name="Lobby")
    services.rooms_set_default(room_ids=[lobby.id], is_default=True)
    with pytest.raises(RegistrationError):
        services.account_register(username="olga", password=PASSWORD)
    assert Membership.objects.filter(room=lobby).count() == 1


def test_rooms_stop_being_default(make_user):
    lobby = services.room_create(creator=make_user("olga"), name="Lobby")
    services.rooms_set_default(room_ids=[lobby.id], is_default=True)
    assert services.rooms_set_default(room_ids=[lobby.id], is_default=False) == 1
    assert not Room.objects.get(pk=lobby.pk).is_default


def test_room_update_changes_settings_and_records_room_updated(make_user, django_capture_on_commit_callbacks):
    olga = make_user("olga")
    room = services.room_create(creator=olga, name="Team", description="old")
    with django_capture_on_commit_callbacks() as callbacks:
        services.room_update(
            actor=olga, room_id=room.id, name=" Core team ", topic="Release Friday", description=""
        )
    room.refresh_from_db()
    assert (room.name, room.topic, room.description) == ("Core team", "Release Friday", "")
    assert scheduled_broadcasts(callbacks) == [("event_published", "room.updated", None)]
    event = Event.objects.get(type="room.updated")
    assert event.payload["room"]["name"] == "Core team" and event.payload["room"]["topic"] == "Release Friday"
    assert event.payload["by"]["username"] == "olga"


def test_room_update_without_a_change_records_nothing(make_user, django_capture_on_commit_callbacks):
    olga = make_user("olga")
    room = services.room_create(creator=olga, name="Team")
    with django_capture_on_commit_callbacks() as callbacks:
        services.room_update(actor=olga, room_id=room.id, name="Team")
    assert callbacks == []


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("name", ""),
        ("name", "\u200b\u200b"),
        ("name", "x" * 81),
        ("topic", "x" * 251),
        ("description", "a\nb"),
    ],
)
def test_room_update_refuses_bad_values_and_stores_nothing(make_user, field, value):
    olga = make_user("olga")
    room = services.room_create(creator=olga, name="Team")
    with pytest.raises(InvalidRoom) as info:
        services.room_update(actor=olga, room_id=room.id, **{"topic": "fine", field: value})
    assert info.value.field == field
    room.refresh_from_db()
    assert (room.name, room.topic) == ("Team", "")
    assert not Event.objects.filter(type="room.updated").exists()


def test_only_owners_and_admins_change_settings_and_outsiders_get_not_found(make_user):
    olga, bob, eve = make_user("olga"), make_user("bob"), make_user("eve")
    room = services.room_create(creator=olga, name="Team")
    services.room_join(user=bob, room_id=room.id)
    with pytest.raises(PermissionDenied):
        services.room_update(actor=bob, room_id=room.id, name="Mine")
    with pytest.raises(NotFound):
        services.room_update(actor=eve, room_id=room.id, name="Mine")
    dm, _ = services.dm_open(user=olga, usernames=["bob"])
    with pytest.raises(PermissionDenied):
        services.room_update(actor=olga, room_id=dm.id, name="Us")
    assert Room.objects.get(pk=room.pk).name == "Team"
