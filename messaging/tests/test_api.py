import json

import pytest

from chatsite.realtime.selectors import events_since
from conftest import PASSWORD
from messaging import changes, services
from messaging.models import Message
from messaging.serialization import message_payload
from messaging.serializers import MessageSerializer
from rooms import services as rooms

pytestmark = pytest.mark.django_db


def test_post_and_read_history(auth_api, make_user, make_room):
    ann = make_user()
    room = make_room(ann)
    client = auth_api(ann)
    created = client.post(
        f"/api/rooms/{room.id}/messages/", {"body": "hello", "client_id": "a1"}, format="json"
    )
    assert created.status_code == 201
    body = created.json()
    assert body["body"] == "hello" and body["client_id"] == "a1" and body["sender"]["id"] == ann.id
    page = client.get(f"/api/rooms/{room.id}/messages/").json()
    assert page == {"results": [body], "has_more": False}


def test_repost_with_same_client_id_returns_original(auth_api, make_user, make_room):
    ann = make_user()
    room = make_room(ann)
    client = auth_api(ann)
    first = client.post(
        f"/api/rooms/{room.id}/messages/", {"body": "hello", "client_id": "dup"}, format="json"
    )
    second = client.post(
        f"/api/rooms/{room.id}/messages/", {"body": "hello", "client_id": "dup"}, format="json"
    )
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json() == second.json()
    assert Message.objects.count() == 1


def test_history_pagination_params(auth_api, make_user, make_room):
    ann = make_user()
    room = make_room(ann)
    client = auth_api(ann)
    ids = [
        client.post(
            f"/api/rooms/{room.id}/messages/", {"body": f"m{i}", "client_id": f"p{i}"}, format="json"
        ).json()["id"]
        for i in range(5)
    ]
    page = client.get(f"/api/rooms/{room.id}/messages/?limit=2").json()
    assert [m["id"] for m in page["results"]] == [ids[4], ids[3]] and page["has_more"]
    page = client.get(f"/api/rooms/{room.id}/messages/?limit=2&before={ids[3]}").json()
    assert [m["id"] for m in page["results"]] == [ids[2], ids[1]]
    page = client.get(f"/api/rooms/{room.id}/messages/?after={ids[2]}").json()
    assert [m["id"] for m in page["results"]] == [ids[3], ids[4]] and not page["has_more"]


@pytest.mark.parametrize(
    # str.isdigit()/int() read other scripts' digits; an id too big for the column was a 500.
    "query",
    [
        "limit=0",
        "limit=101",
        "limit=x",
        "limit=true",
        "before=-1",
        "after=abc",
        "before=%C2%B2",
        "before=%D9%A3",
        f"before={10**19}",
        f"after={10**19}",
    ],
)
def test_history_rejects_bad_params(auth_api, make_user, make_room, query):
    ann = make_user()
    room = make_room(ann)
    assert auth_api(ann).get(f"/api/rooms/{room.id}/messages/?{query}").status_code == 400


@pytest.mark.parametrize(
    "data", [{"body": ""}, {"body": "  "}, {"body": "x" * 10_001}, {}, {"body": "ok", "client_id": "x" * 65}]
)
def test_post_rejects_bad_input_and_stores_nothing(auth_api, make_user, make_room, data):
    ann = make_user()
    room = make_room(ann)
    response = auth_api(ann).post(f"/api/rooms/{room.id}/messages/", data, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) <= {"body", "client_id"}
    assert not Message.objects.exists()


def test_non_members_get_404_identical_to_missing_room(auth_api, make_user, make_room):
    room = make_room(kind="public")
    private = make_room(kind="private")
    outsider = auth_api(make_user())
    answers = set()
    for room_id in (room.id, private.id, 987_654):
        for method, url, data in [
            ("get", f"/api/rooms/{room_id}/messages/", None),
            ("post", f"/api/rooms/{room_id}/messages/", {"body": "hi", "client_id": f"n{room_id}"}),
            ("get", f"/api/rooms/{room_id}/", None),
            ("get", f"/api/rooms/{room_id}/members/", None),
        ]:
            response = getattr(outsider, method)(url, data, format="json") if data else outsider.get(url)
            answers.add((response.status_code, response.content))
    assert answers == {(404, b'{"detail":"Not found.","code":"not_found"}')}
    assert not Message.objects.exists()


def test_anonymous_gets_401(api, make_room):
    room = make_room()
    assert api.get(f"/api/rooms/{room.id}/messages/").status_code == 401


def test_documented_message_shape_matches_payload(make_user, make_room, auth_api):
    ann = make_user()
    room = make_room(ann)
    auth_api(ann).post(f"/api/rooms/{room.id}/messages/", {"body": "x", "client_id": "s"}, format="json")
    assert set(message_payload(Message.objects.get())) == set(MessageSerializer().fields)


def test_documented_message_body_rules_are_the_services_rules(auth_api):
    from django.conf import settings

    from messaging.services import CLIENT_ID_MAX

    schema = auth_api().get("/api/schema/?format=json").json()
    fields = schema["components"]["schemas"]["MessageCreateRequest"]["properties"]
    # A body may be blank only with attachments (a 400 otherwise); the schema says so.
    assert fields["body"]["maxLength"] == settings.MESSAGE_MAX_LENGTH
    assert "attachments" in fields["body"]["description"]
    assert fields["attachments"]["maxItems"] == settings.UPLOAD_MAX_PER_MESSAGE
    assert fields["client_id"]["maxLength"] == CLIENT_ID_MAX


def test_history_rows_and_instances_give_the_same_payload(make_user, make_room):
    from messaging import selectors, services

    ann = make_user(display_name="Ann")
    room = make_room(ann)
    services.message_send(sender=ann, room_id=room.id, body="same shape", client_id="shape")
    (row_payload,) = selectors.message_payloads_page(user=ann, room_id=room.id)
    assert row_payload == message_payload(Message.objects.select_related("sender").get())


def test_retry_by_a_removed_member_is_404_like_any_non_member(auth_api, room_of_two):
    room, alice, bob = room_of_two
    client, path = auth_api(bob), f"/api/rooms/{room.id}/messages/"
    assert client.post(path, {"body": "before", "client_id": "early"}, format="json").status_code == 201
    rooms.member_remove(actor=alice, room_id=room.id, user_id=bob.id, via="api")
    retry = client.post(path, {"body": "before", "client_id": "early"}, format="json")
    assert (retry.status_code, retry.content) == (404, b'{"detail":"Not found.","code":"not_found"}')
    assert Message.objects.count() == 1


# --- rich messages over REST ------------------------------------------------------------------


@pytest.fixture
def thread_room(make_user, make_room, auth_api):
    """(room, ann's client, ben's client, eve's client, ben's message id)."""
    ann, ben, eve = make_user("ann"), make_user("ben"), make_user("eve")
    room = make_room(ann, name="General", members=(ben,))
    ben_client = auth_api(ben)
    message = ben_client.post(
        f"/api/rooms/{room.id}/messages/", {"body": "hello *world*"}, format="json"
    ).json()
    return room, auth_api(ann), ben_client, auth_api(eve), message["id"]


def test_edit_react_reply_and_delete_over_rest(thread_room):
    room, ann, ben, _, mid = thread_room
    edited = ben.patch(f"/api/messages/{mid}/", {"body": "hello **there**"}, format="json")
    assert edited.status_code == 200 and edited.json()["edited_at"]
    assert "<strong>there</strong>" in edited.json()["body_html"]
    assert ben.get(f"/api/messages/{mid}/revisions/").json()[0]["body"] == "hello *world*"
    reacted = ann.post(f"/api/messages/{mid}/reactions/", {"emoji": "🎉"}, format="json").json()
    assert reacted["added"] is True and reacted["message"]["reactions"][0]["emoji"] == "🎉"
    reply = ann.post(f"/api/rooms/{room.id}/messages/", {"body": "yes", "reply_to": mid}, format="json")
    assert reply.status_code == 201 and reply.json()["reply_preview"]["excerpt"] == "hello there"
    thread = ann.get(f"/api/messages/{mid}/thread/").json()
    assert thread["root"]["reply_count"] == 1 and [r["body"] for r in thread["replies"]] == ["yes"]
    around = ann.get(f"/api/rooms/{room.id}/messages/", {"around": mid}).json()
    assert [m["id"] for m in around["results"]] == [mid, reply.json()["id"]]
    assert ann.patch(f"/api/messages/{mid}/", {"body": "not mine"}, format="json").status_code == 403
    deleted = ben.delete(f"/api/messages/{mid}/")
    assert deleted.status_code == 200 and deleted.json()["deleted"] is True and deleted.json()["body"] == ""
    assert ben.patch(f"/api/messages/{mid}/", {"body": "again"}, format="json").status_code == 409
    assert ann.post(f"/api/messages/{mid}/reactions/", {"emoji": "👍"}, format="json").status_code == 409


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("get", "/api/messages/{}/", None),
        ("patch", "/api/messages/{}/", {"body": "x"}),
        ("delete", "/api/messages/{}/", None),
        ("post", "/api/messages/{}/reactions/", {"emoji": "👍"}),
        ("get", "/api/messages/{}/thread/", None),
        ("get", "/api/messages/{}/revisions/", None),
    ],
)
def test_a_message_in_a_room_you_are_not_in_answers_like_a_missing_one(thread_room, method, path, data):
    _, _, _, eve, mid = thread_room
    foreign = getattr(eve, method)(path.format(mid), data, format="json")
    missing = getattr(eve, method)(path.format(999_999), data, format="json")
    assert foreign.status_code == missing.status_code == 404
    assert foreign.json() == missing.json()
    assert Message.objects.get(pk=mid).body == "hello *world*" and not Message.objects.get(pk=mid).reactions


def test_replying_elsewhere_or_to_a_room_you_are_not_in(thread_room, make_room, make_user):
    room, ann, _, eve, mid = thread_room
    other = make_room(make_user("zed"), name="Other")
    bad = ann.post(f"/api/rooms/{room.id}/messages/", {"body": "x", "reply_to": 999_999}, format="json")
    assert bad.status_code == 400 and "reply_to" in bad.json()["fields"]
    assert (
        eve.post(
            f"/api/rooms/{other.id}/messages/", {"body": "x", "reply_to": mid}, format="json"
        ).status_code
        == 404
    )
    assert eve.get(f"/api/rooms/{room.id}/messages/", {"around": mid}).status_code == 404


@pytest.mark.parametrize("emoji", ["x" * 40, "👍👍", "", "a"])
def test_bad_reactions_are_refused(thread_room, emoji):
    _, ann, _, _, mid = thread_room
    response = ann.post(f"/api/messages/{mid}/reactions/", {"emoji": emoji}, format="json")
    assert response.status_code == 400
    assert not Message.objects.get(pk=mid).reactions


def test_unread_counts_for_all_my_rooms_in_one_call_and_mark_read(auth_api, room_of_two, make_room):
    room, ann, ben = room_of_two
    quiet = make_room(ben, name="quiet")
    sent = [
        auth_api(ann)
        .post(f"/api/rooms/{room.id}/messages/", {"body": b, "client_id": b}, format="json")
        .json()
        for b in ("one", f"@{ben.username} two", "three")
    ]
    client = auth_api(ben)
    unread = client.get("/api/unread/")
    assert unread.status_code == 200
    assert sorted(unread.json(), key=lambda s: s["room"]) == [
        {"room": room.id, "last_read": 0, "unread": 3, "unread_capped": False, "mentions": 1},
        {"room": quiet.id, "last_read": 0, "unread": 0, "unread_capped": False, "mentions": 0},
    ]
    marked = client.post(f"/api/rooms/{room.id}/read/", {"message": sent[1]["id"]}, format="json")
    assert marked.status_code == 200
    assert marked.json() == {
        "room": room.id,
        "last_read": sent[1]["id"],
        "unread": 1,
        "unread_capped": False,
        "mentions": 0,
    }
    back = client.post(f"/api/rooms/{room.id}/read/", {"message": sent[0]["id"]}, format="json")
    assert back.status_code == 200 and back.json()["last_read"] == sent[1]["id"]  # never backwards


def test_mark_read_refuses_bad_pointers_and_other_rooms(auth_api, room_of_two, make_user):
    room, ann, ben = room_of_two
    last = auth_api(ann).post(
        f"/api/rooms/{room.id}/messages/", {"body": "x", "client_id": "x"}, format="json"
    )
    client = auth_api(ben)
    for bad in (last.json()["id"] + 1, "1x", 0, None, True):
        answer = client.post(f"/api/rooms/{room.id}/read/", {"message": bad}, format="json")
        assert answer.status_code == 400 and "message" in answer.json()["fields"], bad
    stranger = auth_api(make_user())
    assert stranger.post(f"/api/rooms/{room.id}/read/", {"message": 1}, format="json").status_code == 404
    assert stranger.get("/api/unread/").json() == []
    assert client.get("/api/unread/").json()[0]["last_read"] == 0


def test_a_deleted_account_is_named_in_no_stored_event(auth_api, room_of_two, make_user):
    """Bob sends, is replied to, reacts, and deletes his account (REST): catch-up replays every
    event of the room with no trace of his name, and history shows a deleted user."""
    room, alice, bob = room_of_two
    bob.display_name = "Bobby Tables"
    bob.save()
    sent = services.message_send(sender=bob, room_id=room.id, body="hi, I am Bob").message
    services.message_send(sender=alice, room_id=room.id, body="hello", reply_to=sent.id)
    theirs = services.message_send(sender=alice, room_id=room.id, body="lunch?").message
    changes.reaction_toggle(user=bob, message_id=theirs.id, emoji="👍")
    changes.reaction_toggle(user=alice, message_id=theirs.id, emoji="👍")
    changes.reaction_toggle(user=bob, message_id=theirs.id, emoji="🎉")

    response = auth_api(bob).post("/api/auth/me/delete/", {"password": PASSWORD}, format="json")
    assert response.status_code == 204

    frames = events_since(user_id=alice.id, room_ids=[room.id], since=0).frames
    replayed = json.dumps(frames)
    assert "Bobby Tables" not in replayed
    assert f'"username": "{bob.username}"' not in replayed
    assert "hi, I am Bob" in replayed  # his messages stay
    own = [f for f in frames if f["type"] == "message.new" and f["message"]["id"] == sent.id]
    assert own[0]["message"]["sender"] is None
    reply = [f for f in frames if f["type"] == "message.new" and f["message"]["reply_to"] == sent.id]
    assert reply[0]["message"]["reply_preview"]["sender"] is None
    last_reactions = [f for f in frames if f["type"] == "message.updated"][-1]["message"]["reactions"]
    assert last_reactions == [{"emoji": "👍", "users": [alice.id], "names": [alice.username]}]
    history = auth_api(alice).get(f"/api/rooms/{room.id}/messages/").json()
    bobs = [m for m in history["results"] if m["id"] == sent.id]
    assert bobs[0]["sender"] is None
