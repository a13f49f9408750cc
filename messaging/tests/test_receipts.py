"""Receipts: the delivered pointer (service, REST, socket), reading as delivery, "seen" hidden by
those who send no read receipts, and the per-person / count split by room size."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as db

from accounts.services import user_profile_update
from conftest import ephemeral_published
from messaging import reads, receipts, services
from messaging.exceptions import InvalidDeliveredPointer
from messaging.tests.test_consumers import assert_still_open, connect, hello, show
from rooms.exceptions import RoomNotFound
from rooms.models import Membership


def send(user, room, body="hi"):
    return services.message_send(sender=user, room_id=room.id, body=body, client_id=None).message


def delivered(user, room) -> int:
    return Membership.objects.get(user=user, room=room).last_delivered_message_id


def receipts_published(callbacks) -> list[tuple[dict, int]]:
    """(payload, room) of each receipt.updated published on commit."""
    return [
        (payload, audience["room_id"])
        for kind, payload, audience in ephemeral_published(callbacks)
        if kind == "receipt.updated"
    ]


@pytest.mark.django_db
def test_delivered_only_moves_forward_and_is_told_to_the_room(
    room_of_two, django_capture_on_commit_callbacks
):
    room, ann, ben = room_of_two
    first, second = send(ann, room), send(ann, room)
    with django_capture_on_commit_callbacks() as callbacks:
        assert receipts.delivered_mark(user=ben, room_id=room.id, message_id=second.id) is True
    brief = {"id": ben.id, "username": ben.username, "display_name": ""}
    read = Membership.objects.get(user=ben, room=room).last_read_message_id
    assert receipts_published(callbacks) == [
        ({"room": room.id, "user": brief, "delivered": second.id, "read": read}, room.id)
    ]
    with django_capture_on_commit_callbacks() as callbacks:
        assert receipts.delivered_mark(user=ben, room_id=room.id, message_id=first.id) is False  # never back
    assert receipts_published(callbacks) == [] and delivered(ben, room) == second.id


@pytest.mark.django_db
@pytest.mark.parametrize("message", [0, -1, "x", None, 1.5, 10**19])
def test_bad_delivered_pointers_are_refused_and_store_nothing(room_of_two, message):
    room, ann, ben = room_of_two
    send(ann, room)
    before = delivered(ben, room)
    with pytest.raises(InvalidDeliveredPointer):
        receipts.delivered_mark(user=ben, room_id=room.id, message_id=message)
    assert delivered(ben, room) == before


@pytest.mark.django_db
def test_delivered_past_the_newest_message_or_in_a_room_you_are_not_in(room_of_two, make_user, make_room):
    room, ann, ben = room_of_two
    newest = send(ann, room)
    with pytest.raises(InvalidDeliveredPointer):
        receipts.delivered_mark(user=ben, room_id=room.id, message_id=newest.id + 1)
    eve = make_user()
    secret = make_room(eve, kind="private")
    for room_id in (secret.id, 999_999, "nope"):
        with pytest.raises(RoomNotFound):
            receipts.delivered_mark(user=ben, room_id=room_id, message_id=newest.id)


@pytest.mark.django_db
def test_reading_is_delivery_and_seen_is_hidden_by_who_sends_no_read_receipts(
    room_of_two, django_capture_on_commit_callbacks
):
    room, ann, ben = room_of_two
    message = send(ann, room)
    with django_capture_on_commit_callbacks() as callbacks:
        reads.read_mark(user=ben, room_id=room.id, message_id=message.id)
    assert delivered(ben, room) == message.id  # in the same UPDATE as the read pointer
    ((payload, to_room),) = receipts_published(callbacks)
    assert (payload["delivered"], payload["read"], to_room) == (message.id, message.id, room.id)
    state = receipts.room_receipts(user=ann, room_id=room.id)
    assert (state.latest, state.delivered, state.seen) == (message.id, 1, 1)
    assert [(p["user"]["id"], p["read"]) for p in state.pointers] == [(ben.id, message.id)]

    user_profile_update(user=ben, send_read_receipts=False)
    later = send(ann, room)
    with django_capture_on_commit_callbacks() as callbacks:
        reads.read_mark(user=ben, room_id=room.id, message_id=later.id)
    ((payload, _),) = receipts_published(callbacks)
    assert (payload["delivered"], payload["read"]) == (later.id, None)
    state = receipts.room_receipts(user=ann, room_id=room.id)
    assert (state.delivered, state.seen) == (1, 0) and state.pointers[0]["read"] is None


@pytest.mark.django_db
def test_big_rooms_show_counts_and_record_no_delivery(
    settings, make_user, make_room, django_capture_on_commit_callbacks
):
    settings.RECEIPTS_MAX_MEMBERS = 2
    ann, ben, cat = make_user(), make_user(), make_user()
    room = make_room(ann, members=(ben, cat))
    message = send(ann, room)
    with django_capture_on_commit_callbacks() as callbacks:
        assert receipts.delivered_mark(user=ben, room_id=room.id, message_id=message.id) is False
        reads.read_mark(user=cat, room_id=room.id, message_id=message.id)
    assert receipts_published(callbacks) == []  # not pushed to a big room
    assert delivered(ben, room) < message.id
    state = receipts.room_receipts(user=ann, room_id=room.id)
    assert state.pointers is None and (state.delivered, state.seen) == (1, 1)


@pytest.mark.django_db
def test_rest_delivered_and_receipts(auth_api, room_of_two, make_user, make_room):
    room, ann, ben = room_of_two
    message = send(ann, room)
    client = auth_api(ben)
    assert (
        client.post(f"/api/rooms/{room.id}/delivered/", {"message": message.id}, format="json").status_code
        == 204
    )
    assert delivered(ben, room) == message.id
    answer = client.post(f"/api/rooms/{room.id}/delivered/", {"message": message.id + 1}, format="json")
    assert answer.status_code == 400 and "message" in answer.json()["fields"]
    assert client.post(f"/api/rooms/{room.id}/delivered/", {"message": "x"}, format="json").status_code == 400
    body = auth_api(ann).get(f"/api/rooms/{room.id}/receipts/").json()
    assert (body["latest"], body["latest_sender"], body["delivered"], body["seen"]) == (
        message.id,
        ann.id,
        1,
        0,
    )
    assert body["pointers"][0]["user"]["id"] == ben.id
    secret = make_room(make_user(), kind="private")
    for url in (f"/api/rooms/{secret.id}/receipts/", "/api/rooms/999999/receipts/"):
        assert auth_api(ben).get(url).status_code == 404
    missing = auth_api(ben).post(f"/api/rooms/{secret.id}/delivered/", {"message": 1}, format="json")
    assert missing.status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_a_delivered_frame_reaches_the_senders_open_page_once(make_user, make_room):
    ann = await db(make_user)("ann")
    ben = await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    ws_ann, ws_ben = await connect(ann), await connect(ben)
    await hello(ws_ann)
    await hello(ws_ben)
    await show(ws_ann, room.id)
    message = await db(send)(ann, room)
    for ws in (ws_ann, ws_ben):
        assert (await ws.receive_json_from(timeout=5))["type"] == "message.new"
    for _ in range(3):  # a repeat is a no-op
        await ws_ben.send_json_to({"type": "delivered", "room": room.id, "message": message.id})
    receipt = await ws_ann.receive_json_from(timeout=5)
    assert receipt["type"] == "receipt.updated" and receipt["seq"] is None
    assert (receipt["user"]["id"], receipt["delivered"], receipt["read"]) == (ben.id, message.id, 0)
    assert await ws_ann.receive_nothing(timeout=0.3)
    await assert_still_open(ws_ben)  # no answer to the acknowledging socket
    for ws in (ws_ann, ws_ben):
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("frame", "code"),
    [
        ({"room": "1", "message": 1}, "invalid_room"),
        ({"room": 999_999, "message": 1}, "not_found"),
        ({"room": None, "message": 1}, "invalid_room"),
        ({"message": 0}, "invalid_delivered"),
        ({"message": "7"}, "invalid_delivered"),
        ({"message": True}, "invalid_delivered"),
        ({"message": 10**12}, "invalid_delivered"),
    ],
)
async def test_bad_delivered_frames_get_clear_errors_and_store_nothing(make_user, make_room, frame, code):
    ann = await db(make_user)("ann")
    ben = await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    await db(send)(ann, room)
    ws = await connect(ben)
    await hello(ws)
    before = await db(delivered)(ben, room)
    await ws.send_json_to({"type": "delivered", **({"room": room.id} | frame)})
    answer = await ws.receive_json_from(timeout=5)
    assert (answer["type"], answer["code"]) == ("error", code)
    await assert_still_open(ws)
    assert await db(delivered)(ben, room) == before
    await ws.disconnect()
