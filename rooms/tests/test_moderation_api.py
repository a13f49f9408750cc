"""REST endpoints of room moderation: thin over rooms.moderation; errors as documented."""

import pytest

from accounts.models import ModerationLogEntry
from rooms.models import Membership, Room, RoomMute

pytestmark = pytest.mark.django_db


@pytest.fixture
def room_cast(make_user, make_room):
    owner, admin, member = make_user("olga"), make_user("adam"), make_user("mia")
    staff = make_user("stan", is_staff=True, is_superuser=True)
    room = make_room(owner, members=(admin, member))
    Membership.objects.filter(room=room, user=admin).update(role="admin")
    return room, owner, admin, member, staff


def test_mute_answers_the_member_with_their_mute_and_unmute_lifts_it(auth_api, room_cast):
    room, _owner, admin, member, _staff = room_cast
    client = auth_api(admin)
    url = f"/api/rooms/{room.id}/members/{member.id}/mute/"
    response = client.post(url, {"minutes": 15, "reason": "flooding"}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["username"], body["mute_reason"]) == ("mia", "flooding")
    assert body["muted_until"] is not None
    sent = auth_api(member).post(f"/api/rooms/{room.id}/messages/", {"body": "hi"}, format="json")
    assert sent.status_code == 403 and sent.json()["code"] == "muted"
    assert client.delete(url).status_code == 204
    assert not RoomMute.objects.exists()
    assert (
        auth_api(member).post(f"/api/rooms/{room.id}/messages/", {"body": "hi"}, format="json").status_code
        == 201
    )


@pytest.mark.parametrize("minutes", [0, -1, 100 * 365 * 24 * 60, "soon", None])
def test_bad_mute_lengths_are_400_and_write_nothing(auth_api, room_cast, minutes):
    room, owner, _admin, member, _staff = room_cast
    response = auth_api(owner).post(
        f"/api/rooms/{room.id}/members/{member.id}/mute/", {"minutes": minutes}, format="json"
    )
    assert response.status_code == 400
    assert "minutes" in response.json()["fields"]
    assert not RoomMute.objects.exists() and not ModerationLogEntry.objects.exists()


def test_a_member_cannot_mute_and_a_stranger_or_staff_outsider_gets_404(auth_api, make_user, room_cast):
    room, owner, _admin, member, staff = room_cast
    url = f"/api/rooms/{room.id}/members/{owner.id}/mute/"
    assert auth_api(member).post(url, {"minutes": 5}, format="json").status_code == 403
    outsider = auth_api(make_user("out")).post(url, {"minutes": 5}, format="json")
    missing = auth_api(make_user("out2")).post(
        f"/api/rooms/999999/members/{owner.id}/mute/", {"minutes": 5}, format="json"
    )
    staff_outsider = auth_api(staff).post(url, {"minutes": 5}, format="json")
    assert outsider.status_code == missing.status_code == staff_outsider.status_code == 404
    assert outsider.json() == missing.json() == staff_outsider.json()
    assert not RoomMute.objects.exists()


def test_muting_a_user_of_another_room_is_400(auth_api, make_user, make_room, room_cast):
    room, owner, *_ = room_cast
    stranger = make_user("stranger")
    make_room(stranger, name="Theirs")
    response = auth_api(owner).post(
        f"/api/rooms/{room.id}/members/{stranger.id}/mute/", {"minutes": 5}, format="json"
    )
    assert response.status_code == 400 and "not a member" in response.json()["fields"]["user"][0]


def test_roles_transfer_moderate_and_log(auth_api, room_cast):
    room, owner, admin, member, _staff = room_cast
    client = auth_api(owner)
    promoted = client.patch(f"/api/rooms/{room.id}/members/{member.id}/", {"role": "admin"}, format="json")
    assert promoted.status_code == 200 and promoted.json()["role"] == "admin"
    bad = client.patch(f"/api/rooms/{room.id}/members/{member.id}/", {"role": "owner"}, format="json")
    assert bad.status_code == 400
    assert (
        auth_api(admin)
        .patch(f"/api/rooms/{room.id}/members/{member.id}/", {"role": "member"}, format="json")
        .status_code
        == 403
    )
    read_only = auth_api(admin).post(f"/api/rooms/{room.id}/moderate/", {"read_only": True}, format="json")
    assert read_only.status_code == 200 and read_only.json()["read_only"] is True
    assert (
        auth_api(admin).post(f"/api/rooms/{room.id}/moderate/", {"archived": True}, format="json").status_code
        == 403
    )
    archived = client.post(f"/api/rooms/{room.id}/moderate/", {"archived": True}, format="json")
    assert archived.status_code == 200 and archived.json()["archived_at"] is not None
    transferred = client.post(f"/api/rooms/{room.id}/transfer/", {"user": admin.id}, format="json")
    assert transferred.status_code == 200
    assert Membership.objects.get(room=room, user=admin).role == "owner"
    log = auth_api(admin).get(f"/api/rooms/{room.id}/moderation-log/")
    assert log.status_code == 200
    assert [e["action"] for e in log.json()] == [
        "room.transfer",
        "room.archive",
        "room.read_only",
        "member.role",
    ]
    assert log.json()[0]["actor"] == "olga" and log.json()[0]["interface"] == "api"
    assert auth_api(member).get(f"/api/rooms/{room.id}/moderation-log/").status_code == 200  # an admin now
    Membership.objects.filter(room=room, user=member).update(role="member")
    assert auth_api(member).get(f"/api/rooms/{room.id}/moderation-log/").status_code == 403
    assert Room.objects.get(pk=room.id).read_only
