"""The per-membership notification level: service, REST, the room header's form, the sidebar."""

from __future__ import annotations

import pytest
from django.test import Client

from rooms import services
from rooms.exceptions import InvalidNotify, RoomNotFound
from rooms.models import Membership

pytestmark = pytest.mark.django_db


def level(user, room) -> str:
    return Membership.objects.get(user=user, room=room).notify


def test_a_member_sets_their_level_and_bad_levels_or_rooms_are_refused(room_of_two, make_user, make_room):
    room, ann, ben = room_of_two
    assert level(ben, room) == "mentions"  # the default
    services.membership_notify_set(user=ben, room_id=room.id, level="muted")
    assert (level(ben, room), level(ann, room)) == ("muted", "mentions")
    for bad in ("loud", "", None, 1, ["all"]):
        with pytest.raises(InvalidNotify):
            services.membership_notify_set(user=ben, room_id=room.id, level=bad)
    secret = make_room(make_user(), kind="private")
    for room_id in (secret.id, 999_999):
        with pytest.raises(RoomNotFound):
            services.membership_notify_set(user=ben, room_id=room_id, level="all")
    assert level(ben, room) == "muted"


def test_rest_reads_and_sets_the_level(auth_api, room_of_two, make_user, make_room):
    room, _, ben = room_of_two
    client = auth_api(ben)
    url = f"/api/rooms/{room.id}/notifications/"
    assert client.get(url).json() == {"level": "mentions"}
    assert client.put(url, {"level": "all"}, format="json").json() == {"level": "all"}
    answer = client.put(url, {"level": "loud"}, format="json")
    assert answer.status_code == 400 and "level" in answer.json()["fields"]
    assert level(ben, room) == "all"
    secret = make_room(make_user(), kind="private")
    for other in (f"/api/rooms/{secret.id}/notifications/", "/api/rooms/999999/notifications/"):
        assert client.get(other).status_code == 404
        assert client.put(other, {"level": "all"}, format="json").status_code == 404


def test_the_room_header_sets_it_and_the_sidebar_shows_a_muted_room(room_of_two):
    room, _, ben = room_of_two
    client = Client()
    client.force_login(ben)
    page = client.get(f"/r/{room.id}/").content.decode()
    assert '<option value="mentions" selected>Mentions only</option>' in page
    assert 'data-notify="mentions"' in page
    token = client.cookies["csrftoken"].value
    answer = client.post(
        f"/rooms/{room.id}/notifications/",
        {"level": "muted", "csrfmiddlewaretoken": token},
        HTTP_HX_REQUEST="true",
    )
    assert answer.status_code == 204 and level(ben, room) == "muted"
    page = client.get(f"/r/{room.id}/").content.decode()
    assert '<option value="muted" selected>Muted</option>' in page
    item = page.split(f'id="sidebar-room-{room.id}"')[0].rsplit("<li", 1)[1]
    assert "muted-room" in item
    refused = client.post(f"/rooms/{room.id}/notifications/", {"level": "loud", "csrfmiddlewaretoken": token})
    assert refused.status_code == 400 and level(ben, room) == "muted"
    assert (
        client.post(
            "/rooms/999999/notifications/", {"level": "all", "csrfmiddlewaretoken": token}
        ).status_code
        == 404
    )
