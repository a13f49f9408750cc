"""The room's moderation on the web: the member panel's actions, the settings page's posting
rules and log, and the composer of a muted member."""

import pytest

from accounts.models import ModerationLogEntry
from rooms import moderation
from rooms.models import Membership, Room, RoomMute

pytestmark = pytest.mark.django_db


@pytest.fixture
def web(client, make_user, make_room):
    owner, admin, member = make_user("olga"), make_user("adam"), make_user("mia")
    room = make_room(owner, members=(admin, member))
    Membership.objects.filter(room=room, user=admin).update(role="admin")

    def as_user(user):
        client.force_login(user)
        return client

    return room, owner, admin, member, as_user


def test_member_panel_offers_actions_only_where_they_are_allowed(web):
    room, owner, admin, member, as_user = web
    panel = as_user(admin).get(f"/rooms/{room.id}/members/").content.decode()
    assert f"/rooms/{room.id}/members/{member.id}/moderate/" in panel
    assert f"/rooms/{room.id}/members/{owner.id}/moderate/" not in panel  # nobody acts on an owner
    assert "Transfer ownership" not in panel  # owners only
    panel = as_user(owner).get(f"/rooms/{room.id}/members/").content.decode()
    assert f"/rooms/{room.id}/members/{admin.id}/moderate/" in panel and "Transfer ownership" in panel
    panel = as_user(member).get(f"/rooms/{room.id}/members/").content.decode()
    assert "/moderate/" not in panel


def test_muting_from_the_panel_shows_it_and_the_muted_composer_says_why(web):
    room, _owner, admin, member, as_user = web
    client = as_user(admin)
    url = f"/rooms/{room.id}/members/{member.id}/moderate/"
    panel = client.post(
        url, {"action": "mute", "minutes": "60", "reason": "spamming links"}, HTTP_HX_REQUEST="true"
    )
    assert panel.status_code == 200 and "Muted until" in panel.content.decode()
    entry = ModerationLogEntry.objects.get()
    assert (entry.interface, entry.reason) == ("web", "spamming links")
    page = as_user(member).get(f"/r/{room.id}/").content.decode()
    assert "You are muted in this room until" in page and "spamming links" in page
    assert 'name="body" rows="1"' in page and "required disabled" in page
    sent = as_user(member).post(f"/r/{room.id}/send/", {"body": "hello"}, HTTP_HX_REQUEST="true")
    assert sent.status_code == 400 and "muted" in sent.content.decode()


def test_panel_refuses_bad_mutes_and_a_members_attempt(web):
    room, _owner, admin, member, as_user = web
    url = f"/rooms/{room.id}/members/{member.id}/moderate/"
    bad = as_user(admin).post(url, {"action": "mute", "minutes": "-5"}, HTTP_HX_REQUEST="true")
    assert "at most a year" in bad.content.decode() or "from 1 to" in bad.content.decode()
    denied = as_user(member).post(f"/rooms/{room.id}/members/{admin.id}/moderate/", {"action": "remove"})
    assert "Only owners and admins" in denied.content.decode()
    assert not RoomMute.objects.exists() and Membership.objects.filter(room=room).count() == 3


def test_panel_roles_transfer_and_removal(web):
    room, owner, admin, member, as_user = web
    client = as_user(owner)
    client.post(f"/rooms/{room.id}/members/{member.id}/moderate/", {"action": "role", "role": "admin"})
    assert Membership.objects.get(room=room, user=member).role == "admin"
    client.post(
        f"/rooms/{room.id}/members/{admin.id}/moderate/", {"action": "remove", "reason": "left the team"}
    )
    assert not Membership.objects.filter(room=room, user=admin).exists()
    client.post(f"/rooms/{room.id}/members/{member.id}/moderate/", {"action": "transfer"})
    assert Membership.objects.get(room=room, user=member).role == "owner"


def test_outsiders_get_the_same_404_as_for_a_missing_room(web, make_user, client):
    room, _owner, _admin, member, _as_user = web
    client.force_login(make_user("out", is_staff=True, is_superuser=True))
    real = client.post(f"/rooms/{room.id}/members/{member.id}/moderate/", {"action": "unmute"})
    missing = client.post(f"/rooms/999999/members/{member.id}/moderate/", {"action": "unmute"})
    assert real.status_code == missing.status_code == 404
    assert client.post(f"/rooms/{room.id}/moderate/", {"read_only": "1"}).status_code == 404


def test_settings_page_switches_posting_rules_and_shows_the_log(web):
    room, owner, admin, member, as_user = web
    moderation.member_mute(
        actor=owner, room_id=room.id, user_id=member.id, minutes=5, reason="calm", via="api"
    )
    client = as_user(admin)
    page = client.get(f"/rooms/{room.id}/settings/").content.decode()
    assert "Moderation log" in page and "Muted a member" in page and "calm" in page
    assert "Archive room" not in page  # owners only
    assert client.post(f"/rooms/{room.id}/moderate/", {"read_only": "1"}).status_code == 302
    assert Room.objects.get(pk=room.id).read_only
    assert client.post(f"/rooms/{room.id}/moderate/", {"archived": "1"}).status_code == 403
    page = as_user(member).get(f"/r/{room.id}/").content.decode()
    assert "data-read-only" in page
    assert as_user(member).get(f"/rooms/{room.id}/settings/").status_code == 403
    owner_page = as_user(owner).get(f"/rooms/{room.id}/settings/").content.decode()
    assert "Archive room" in owner_page
    as_user(owner).post(f"/rooms/{room.id}/moderate/", {"archived": "1"})
    assert "archived" in as_user(member).get(f"/r/{room.id}/").content.decode()
