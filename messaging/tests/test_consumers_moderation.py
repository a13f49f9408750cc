"""Moderation as a socket sees it: member.updated / room.updated arrive live, and a muted or
read-only member's frames get an error frame with a clear code while the socket stays open."""

from __future__ import annotations

import pytest
from channels.db import database_sync_to_async as db

from messaging import services
from messaging.models import Message
from messaging.tests.test_consumers import assert_still_open, connect, hello
from rooms import moderation

pytestmark = pytest.mark.django_db(transaction=True)


async def next_of(ws, kind: str) -> dict:
    for _ in range(10):
        frame = await ws.receive_json_from(timeout=5)
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


async def test_a_mute_reaches_both_sockets_and_the_muted_member_sends_get_muted(make_user, make_room):
    ann = await db(make_user)("ann")
    ben = await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    said = await db(services.message_send)(sender=ben, room_id=room.id, body="before")
    ws_ann, ws_ben = await connect(ann), await connect(ben)
    await hello(ws_ann)
    await hello(ws_ben)
    await db(moderation.member_mute)(
        actor=ann, room_id=room.id, user_id=ben.id, minutes=10, reason="take a break", via="api"
    )
    for ws in (ws_ann, ws_ben):
        frame = await next_of(ws, "member.updated")
        assert frame["user"]["id"] == ben.id and frame["mute_reason"] == "take a break"
        assert frame["muted_until"] and frame["by"]["id"] == ann.id and frame["seq"]
    await ws_ben.send_json_to({"type": "message.send", "room": room.id, "body": "hey", "client_id": "c1"})
    error = await ws_ben.receive_json_from(timeout=5)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "muted", "c1")
    assert "take a break" in error["detail"]
    await ws_ben.send_json_to(
        {"type": "reaction.toggle", "message": said.message.id, "emoji": "👍", "ref": 2}
    )
    error = await ws_ben.receive_json_from(timeout=5)
    assert (error["type"], error["code"], error["ref"]) == ("error", "muted", 2)
    await assert_still_open(ws_ben)
    assert not await db(Message.objects.filter(body="hey").exists)()

    await db(moderation.member_unmute)(actor=ann, room_id=room.id, user_id=ben.id, via="api")
    frame = await next_of(ws_ben, "member.updated")
    assert frame["muted_until"] is None
    await ws_ben.send_json_to({"type": "message.send", "room": room.id, "body": "thanks", "client_id": "c2"})
    assert (await next_of(ws_ben, "message.ack"))["client_id"] == "c2"
    await ws_ann.disconnect()
    await ws_ben.disconnect()


async def test_read_only_room_answers_members_read_only_and_a_reconnect_catches_up(make_user, make_room):
    ann = await db(make_user)("ann")
    ben = await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    ws_ben = await connect(ben)
    seq = (await hello(ws_ben))["seq"]
    await ws_ben.disconnect()
    await db(moderation.room_moderate)(actor=ann, room_id=room.id, read_only=True, via="api")
    ws_ben = await connect(ben, f"&since={seq}")
    await hello(ws_ben)
    frame = await next_of(ws_ben, "room.updated")  # replayed by catch-up
    assert frame["room"]["read_only"] is True and frame["room"]["archived"] is False
    await ws_ben.send_json_to({"type": "message.send", "room": room.id, "body": "hey", "client_id": "c1"})
    error = await ws_ben.receive_json_from(timeout=5)
    assert (error["code"], error["client_id"]) == ("read_only", "c1")
    await assert_still_open(ws_ben)
    await ws_ben.disconnect()
