import pytest

from accounts import services as accounts_services
from accounts.models import User
from chatsite.realtime.models import Event
from chatsite.realtime.presence import ProcessPresence
from conftest import PASSWORD
from rooms import services as rooms_services
from rooms.models import Membership, Room

pytestmark = pytest.mark.django_db


def test_create_list_and_browse(auth_api, make_user):
    ann = make_user("ann")
    client = auth_api(ann)
    created = client.post("/api/rooms/", {"name": "General", "description": "all"}, format="json")
    assert created.status_code == 201
    assert created.json()["kind"] == "public" and created.json()["member_count"] == 1
    client.post("/api/rooms/", {"name": "Secret", "kind": "private"}, format="json")
    mine = client.get("/api/rooms/").json()
    assert {r["name"] for r in mine["results"]} == {"General", "Secret"}
    other = auth_api(make_user())
    assert other.get("/api/rooms/").json()["results"] == []
    browse = other.get("/api/rooms/?public=1").json()
    assert [r["name"] for r in browse["results"]] == ["General"]


@pytest.mark.parametrize(
    "data",
    [{}, {"name": ""}, {"name": "x" * 81}, {"name": "ok", "kind": "direct"}, {"name": "ok", "kind": "nope"}],
)
def test_create_rejects_bad_input(auth_api, data):
    response = auth_api().post("/api/rooms/", data, format="json")
    assert response.status_code == 400
    assert not Room.objects.exists()


def test_join_leave_members(auth_api, make_user):
    ann, ben = make_user("ann"), make_user("ben")
    room_id = auth_api(ann).post("/api/rooms/", {"name": "General"}, format="json").json()["id"]
    ben_client = auth_api(ben)
    assert ben_client.post(f"/api/rooms/{room_id}/join/").status_code == 200
    members = ben_client.get(f"/api/rooms/{room_id}/members/").json()
    assert [(m["username"], m["role"]) for m in members] == [("ann", "owner"), ("ben", "member")]
    assert ben_client.post(f"/api/rooms/{room_id}/leave/").status_code == 204
    assert ben_client.get(f"/api/rooms/{room_id}/").status_code == 404


def test_invite_and_remove(auth_api, make_user):
    ann, ben, cat = make_user("ann"), make_user("ben"), make_user("cat")
    ann_client = auth_api(ann)
    room_id = ann_client.post("/api/rooms/", {"name": "Secret", "kind": "private"}, format="json").json()[
        "id"
    ]
    assert auth_api(ben).post(f"/api/rooms/{room_id}/join/").status_code == 404
    added = ann_client.post(f"/api/rooms/{room_id}/members/", {"username": "ben"}, format="json")
    assert added.status_code == 201 and added.json()["username"] == "ben"
    assert (
        auth_api(ben).post(f"/api/rooms/{room_id}/members/", {"username": "cat"}, format="json").status_code
        == 403
    )
    unknown = ann_client.post(f"/api/rooms/{room_id}/members/", {"username": "ghost"}, format="json")
    assert unknown.status_code == 400 and "username" in unknown.json()["fields"]
    assert ann_client.delete(f"/api/rooms/{room_id}/members/{ben.id}/").status_code == 204
    assert not Membership.objects.filter(user=ben).exists()
    assert auth_api(cat).delete(f"/api/rooms/{room_id}/members/{ann.id}/").status_code == 404


def test_dm_200_existing_201_new(auth_api, make_user):
    ann, ben = make_user("ann"), make_user("ben")
    first = auth_api(ann).post("/api/dms/", {"usernames": ["ben"]}, format="json")
    assert first.status_code == 201 and first.json()["kind"] == "direct"
    second = auth_api(ben).post("/api/dms/", {"usernames": ["ann"]}, format="json")
    assert second.status_code == 200 and second.json()["id"] == first.json()["id"]
    assert auth_api(ann).post("/api/dms/", {"usernames": []}, format="json").status_code == 400
    assert auth_api(ann).post("/api/dms/", {"usernames": ["ghost"]}, format="json").status_code == 400
    assert Room.objects.filter(kind="direct").count() == 1
    assert auth_api(ann).get("/api/rooms/?public=1").json()["results"] == []


def test_join_answers_the_room_with_its_member_count(auth_api, make_user, make_room):
    room = make_room(make_user())
    joined = auth_api().post(f"/api/rooms/{room.id}/join/")
    assert joined.status_code == 200
    assert joined.json()["member_count"] == 2  # was null: the schema says integer


def test_browse_refuses_nul_in_search(auth_api):
    response = auth_api().get("/api/rooms/?public=1&search=a%00b")
    assert response.status_code == 400  # was a 500 on PostgreSQL
    assert set(response.json()["fields"]) == {"search"}


@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_ids_that_are_not_numbers_or_too_big_answer_the_json_404(auth_api, make_user, make_room, method):
    ann = make_user()
    room = make_room(ann)
    client = auth_api(ann)
    urls = {
        "get": ["/api/rooms/abc/", f"/api/rooms/{10**19}/", f"/api/rooms/{10**19}/members/"],
        "post": [f"/api/rooms/{10**19}/join/", f"/api/rooms/{10**19}/messages/", "/api/rooms/-1/leave/"],
        "delete": [f"/api/rooms/{room.id}/members/{10**19}/", f"/api/rooms/{10**19}/members/1/"],
    }[method]
    for url in urls:
        response = getattr(client, method)(url)  # a 10**19 id was a 500 (too big for the column)
        assert (response.status_code, response.content) == (
            404,
            b'{"detail":"Not found.","code":"not_found"}',
        )
        assert response["Content-Type"] == "application/json"


def test_presence_of_users_who_share_a_room_only(auth_api, room_of_two, make_user):
    _, ann, ben = room_of_two
    eve = make_user()  # shares nothing with ann
    elsewhere = ProcessPresence()
    elsewhere.beat([ben.id, eve.id])  # both have a socket open somewhere
    answer = auth_api(ann).get(f"/api/presence/?users={ben.id},{eve.id},{ann.id},999999")
    assert answer.status_code == 200
    by_user = {entry["user"]: entry for entry in answer.json()}
    assert set(by_user) == {ann.id, ben.id}  # eve and the unknown id are left out alike
    assert by_user[ben.id]["state"] == "online" and by_user[ben.id]["last_seen"]
    assert by_user[ann.id] == {"user": ann.id, "state": "offline", "last_seen": None}
    elsewhere.gone(ben.id)
    assert auth_api(ann).get(f"/api/presence/?users={ben.id}").json()[0]["state"] == "offline"


def test_presence_says_away_and_hides_who_appears_offline(auth_api, room_of_two, make_user):
    _, ann, ben = room_of_two
    cat = make_user()
    rooms_services.member_add(actor=ann, room_id=room_of_two[0].id, username=cat.username)
    somewhere = ProcessPresence()
    somewhere.beat({ben.id: False, cat.id: True})  # ben's only tab is hidden
    accounts_services.user_profile_update(user=cat, appear_offline=True)
    cat.refresh_from_db()
    answer = auth_api(ann).get(f"/api/presence/?users={ben.id},{cat.id}").json()
    by_user = {entry["user"]: entry for entry in answer}
    assert by_user[ben.id]["state"] == "away"
    assert by_user[cat.id]["state"] == "offline"
    assert by_user[cat.id]["last_seen"] == cat.last_seen.isoformat().replace("+00:00", "Z")


@pytest.mark.parametrize("users", ["", "1,x", "1,,2", "-1", ",".join(str(i) for i in range(1, 102))])
def test_presence_refuses_bad_user_lists(auth_api, users):
    answer = auth_api().get(f"/api/presence/?users={users}")
    assert answer.status_code == 400 and "users" in answer.json()["fields"]


def test_account_delete_needs_the_password(auth_api, make_user, make_room):
    user = make_user("ann")
    room = make_room(members=(user,))
    client = auth_api(user)
    refused = client.post("/api/auth/me/delete/", {"password": "guess"}, format="json")
    assert refused.status_code == 400
    assert "password" in refused.json()["fields"]
    assert Membership.objects.filter(room=room, user=user).exists()
    assert client.post("/api/auth/me/delete/", {"password": PASSWORD}, format="json").status_code == 204
    assert not Membership.objects.filter(room=room, user_id=user.id).exists()
    assert not User.objects.filter(pk=user.id).exists()


def test_api_registration_joins_the_default_rooms(api, make_room):
    room = make_room(name="Lobby")
    Room.objects.filter(pk=room.pk).update(is_default=True)
    response = api.post("/api/auth/register/", {"username": "newbie", "password": PASSWORD}, format="json")
    assert response.status_code == 201
    assert Membership.objects.filter(room=room, user__username="newbie").exists()


def test_admin_action_makes_public_rooms_default(make_user, make_room):
    from django.test import Client

    admin = make_user("root", is_staff=True, is_superuser=True)
    public, private = make_room(name="Lobby"), make_room(name="Secret", kind="private")
    client = Client()
    client.force_login(admin)
    response = client.post(
        "/admin/rooms/room/",
        {"action": "make_default", "_selected_action": [public.pk, private.pk]},
        follow=True,
    )
    assert b"1 room(s) are now default rooms." in response.content
    assert list(Room.objects.filter(is_default=True)) == [public]


def test_my_rooms_report_their_real_member_counts(auth_api, make_user, make_room):
    me, bob, cy = make_user(), make_user(), make_user()
    three = make_room(me, name="Three", members=(bob, cy))
    two = make_room(me, name="Two", members=(bob,))
    rows = auth_api(me).get("/api/rooms/").json()["results"]
    assert {row["id"]: row["member_count"] for row in rows} == {three.id: 3, two.id: 2}


def test_patch_room_settings(auth_api, make_user, make_room):
    owner, member = make_user(), make_user()
    room = make_room(owner, name="Team", members=(member,))
    response = auth_api(owner).patch(f"/api/rooms/{room.id}/", {"topic": "Ship it"}, format="json")
    assert response.status_code == 200
    assert response.json()["topic"] == "Ship it" and response.json()["member_count"] == 2
    refused = auth_api(member).patch(f"/api/rooms/{room.id}/", {"name": "Mine"}, format="json")
    assert refused.status_code == 403
    bad = auth_api(owner).patch(f"/api/rooms/{room.id}/", {"name": "\u200b"}, format="json")
    assert bad.status_code == 400 and "name" in bad.json()["fields"]
    assert Room.objects.get(pk=room.pk).name == "Team"


def test_group_conversations_add_people_leave_and_take_a_name(auth_api, make_user):
    ann, ben, cat, dan, eve = (make_user(n) for n in ("ann", "ben", "cat", "dan", "eve"))
    started = auth_api(ann).post("/api/dms/", {"usernames": ["ben", "cat"]}, format="json")
    assert started.status_code == 201
    group = started.json()
    assert (group["kind"], group["is_group"], group["named"], group["member_count"]) == (
        "direct",
        True,
        False,
        3,
    )
    gid = group["id"]

    # A one-to-one stays as it is.
    pair = auth_api(ann).post("/api/dms/", {"usernames": ["ben"]}, format="json").json()
    assert pair["is_group"] is False
    assert (
        auth_api(ann)
        .post(f"/api/rooms/{pair['id']}/members/", {"username": "cat"}, format="json")
        .status_code
        == 403
    )
    assert auth_api(ann).post(f"/api/rooms/{pair['id']}/leave/").status_code == 403
    assert auth_api(ann).patch(f"/api/rooms/{pair['id']}/", {"name": "Us"}, format="json").status_code == 403

    # Any member adds people and names it.
    assert (
        auth_api(ben).post(f"/api/rooms/{gid}/members/", {"username": "dan"}, format="json").status_code
        == 201
    )
    assert gid in [r["id"] for r in auth_api(dan).get("/api/rooms/").json()["results"]]
    named = auth_api(cat).patch(f"/api/rooms/{gid}/", {"name": "Launch crew"}, format="json")
    assert named.status_code == 200
    assert (named.json()["name"], named.json()["named"]) == ("Launch crew", True)
    assert auth_api(dan).get(f"/api/rooms/{gid}/").json()["member_count"] == 4

    # Its people changed: the first three together are a new conversation now.
    again = auth_api(ann).post("/api/dms/", {"usernames": ["ben", "cat"]}, format="json")
    assert again.status_code == 201 and again.json()["id"] != gid

    # Leaving: the group goes on without them, and to them it is as missing as any other room.
    assert auth_api(cat).post(f"/api/rooms/{gid}/leave/").status_code == 204
    for outsider in (cat, eve):
        client = auth_api(outsider)
        for answer in (
            client.get(f"/api/rooms/{gid}/"),
            client.patch(f"/api/rooms/{gid}/", {"name": "mine"}, format="json"),
            client.post(f"/api/rooms/{gid}/members/", {"username": "eve"}, format="json"),
            client.get(f"/api/rooms/{gid}/messages/"),
        ):
            assert answer.status_code == 404
            assert answer.json() == client.get("/api/rooms/999999/").json()
    assert auth_api(ann).get(f"/api/rooms/{gid}/").json()["member_count"] == 3

    types = list(
        Event.objects.filter(room_id=gid).order_by("seq").values_list("type", "payload__user__username")
    )
    assert types[3:] == [("member.joined", "dan"), ("room.updated", None), ("member.left", "cat")]


def test_admin_lists_group_conversations_apart_with_their_people(make_user, make_room):
    from django.test import Client

    root = make_user("root", is_staff=True, is_superuser=True)
    ann = make_user("ann")
    make_user("bob"), make_user("cy")
    make_room(ann, name="Lobby")
    pair, _ = rooms_services.dm_open(user=ann, usernames=["bob"])
    group, _ = rooms_services.dm_open(user=ann, usernames=["bob", "cy"])
    rooms_services.room_update(actor=ann, room_id=group.id, name="Crew")
    client = Client()
    client.force_login(root)
    page = client.get("/admin/rooms/room/?conversation=group").content.decode()
    assert "Crew" in page and "group (named)" in page and f"/admin/rooms/room/{pair.pk}/" not in page
    assert ">3</td>" in page  # its people
    page = client.get("/admin/rooms/room/?conversation=one_to_one").content.decode()
    assert f"/admin/rooms/room/{pair.pk}/" in page and "Crew" not in page and "Lobby" not in page
