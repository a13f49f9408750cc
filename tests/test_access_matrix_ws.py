"""The access matrix over the WebSocket: a non-member's socket hears nothing of a private room or
a DM, live or replayed with ``since``, and every client frame type the consumer handles answers
for their ids exactly as for ids of nothing. Generated from ``ChatConsumer.handlers`` and the
event-kind registry, so a new frame type or kind is covered (or fails here) without editing.
"""

from __future__ import annotations

import json

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator

from chatsite.realtime import kinds
from chatsite.realtime.models import Event
from messaging import changes, services
from messaging.consumers import ChatConsumer
from messaging.models import Message
from messaging.tests.test_consumers import connect
from rooms import moderation
from rooms import services as rooms

pytestmark = pytest.mark.django_db(transaction=True)

MISSING = 987_654_321
# Ephemeral kinds this scenario causes (from alice's socket); presence is pushed only to the
# rooms its person shares, and eve shares none with alice (chatsite.realtime.presence).
EPHEMERAL_CAUSED = {"typing", "read.updated", "receipt.updated"}
# Not about a room: presence goes only to people who share a room with the person, and a
# site-wide mute or a block only to the sockets of the person it concerns.
EPHEMERAL_NOT_CAUSED = {"presence.updated", "account.muted", "blocks.updated"}
# What a frame of any type may carry: every field some handler reads.
FIELDS = {"body": "hi", "client_id": "eve-1", "emoji": "👍", "active": True, "reason": "x"}


async def until_pong(communicator: WebsocketCommunicator, ref: str) -> list[dict]:
    """Every frame the socket received before the pong to a ping sent now."""
    await communicator.send_json_to({"type": "ping", "ref": ref})
    received = []
    while (frame := await communicator.receive_json_from(timeout=10)) != {"type": "pong", "ref": ref}:
        received.append(frame)
    return received


def _activity(alice, bob, carol, room_ids: list[int]) -> None:
    """Every stored kind, in each of the rooms eve is not in."""
    for room_id in room_ids:
        sent = services.message_send(sender=alice, room_id=room_id, body="secret words").message
        changes.message_edit(actor=alice, message_id=sent.id, body="secret words, edited")
        changes.reaction_toggle(user=bob, message_id=sent.id, emoji="👍")
        changes.message_delete(actor=alice, message_id=sent.id, via="api")
    secret = room_ids[0]
    rooms.room_update(actor=alice, room_id=secret, topic="secret topic")
    rooms.member_add(actor=alice, room_id=secret, username=carol.username)
    moderation.member_mute(actor=alice, room_id=secret, user_id=carol.id, minutes=5, via="api")
    rooms.member_remove(actor=alice, room_id=secret, user_id=carol.id, via="api")
    rooms.member_add(actor=alice, room_id=secret, username=carol.username)
    rooms.room_leave(user=carol, room_id=secret)


async def test_a_non_members_socket_hears_nothing_of_a_private_room_or_dm_live_or_replayed(
    make_user, settings
):
    settings.SEND_RATE_LIMIT = 10_000
    alice, bob, carol, eve = [await db(make_user)(name) for name in ("alice", "bob", "carol", "eve")]
    secret = await db(rooms.room_create)(creator=alice, name="Secret", kind="private")
    await db(rooms.member_add)(actor=alice, room_id=secret.id, username="bob")
    dm, _ = await db(rooms.dm_open)(user=alice, usernames=["bob"])
    lobby = await db(rooms.room_create)(creator=eve, name="Lobby")
    private_ids = {secret.id, dm.id}

    ws_eve = await connect(eve)
    hello = await ws_eve.receive_json_from(timeout=5)
    assert hello["rooms"] == [lobby.id]
    ws_alice = await connect(alice)
    await until_pong(ws_alice, "alice-ready")
    seq_before = hello["seq"]

    await db(_activity)(alice, bob, carol, [secret.id, dm.id])
    latest = await db(services.message_send)(sender=bob, room_id=secret.id, body="secret reply")
    for room_id in sorted(private_ids):  # the ephemeral kinds, from alice's socket
        await ws_alice.send_json_to({"type": "room.open", "room": room_id})
        await ws_alice.send_json_to({"type": "typing.start", "room": room_id})
        await ws_alice.send_json_to({"type": "read", "room": room_id, "message": latest.message.id})
        await ws_alice.send_json_to({"type": "delivered", "room": room_id, "message": latest.message.id})
    caused = await until_pong(ws_alice, "alice-done")

    stored = set(await db(list)(Event.objects.filter(seq__gt=seq_before).values_list("type", flat=True)))
    assert stored == set(kinds.stored_names()), "cause every stored kind here (a new one?)"
    assert EPHEMERAL_CAUSED <= {f["type"] for f in caused} | {"typing"}  # typing skips the typist
    assert set(kinds.REGISTRY) == stored | EPHEMERAL_CAUSED | EPHEMERAL_NOT_CAUSED, "a new kind?"

    # Live: not one frame reached eve.
    assert await until_pong(ws_eve, "eve-live") == []
    await ws_eve.disconnect()
    # Replayed from the start: nothing of theirs either, and nothing says what it was.
    replay = await connect(eve, "&since=0")
    frames = [await replay.receive_json_from(timeout=5)] + await until_pong(replay, "eve-replay")
    assert frames[0]["type"] == "hello" and frames[0]["rooms"] == [lobby.id]
    for frame in frames[1:]:
        room = frame.get("room") or frame.get("message", {}).get("room")
        room_id = room.get("id") if isinstance(room, dict) else room
        assert room_id == lobby.id and "secret" not in json.dumps(frame).lower(), frame
    await replay.disconnect()
    await ws_alice.disconnect()


def _frame(kind: str, room_id: int, message_id: int) -> dict:
    return {"type": kind, "room": room_id, "message": message_id, **FIELDS}


async def test_every_frame_type_answers_a_non_member_as_for_ids_of_nothing(make_user, settings):
    settings.SEND_RATE_LIMIT = 10_000
    alice, _bob, eve = [await db(make_user)(name) for name in ("alice", "bob", "eve")]
    secret = await db(rooms.room_create)(creator=alice, name="Secret", kind="private")
    dm, _ = await db(rooms.dm_open)(user=alice, usernames=["bob"])
    targets = []
    for room in (secret, dm):
        sent = await db(services.message_send)(sender=alice, room_id=room.id, body="secret words")
        targets.append((room.id, sent.message.id))
    count = await db(Event.objects.count)()

    ws_eve = await connect(eve)
    await ws_eve.receive_json_from(timeout=5)
    for kind in sorted(ChatConsumer.handlers):
        for room_id, message_id in targets:
            private = [*await _answers(ws_eve, _frame(kind, room_id, message_id))]
            missing = [*await _answers(ws_eve, _frame(kind, MISSING, MISSING))]
            assert private == missing, (kind, private, missing)
            assert not any(a.get("type") in {"message.ack", "result"} for a in private), (kind, private)
    await ws_eve.disconnect()
    assert await db(Event.objects.count)() == count
    message = await db(Message.objects.get)(pk=targets[0][1])
    assert message.body == "secret words" and message.reactions == [] and message.deleted_at is None


async def _answers(communicator: WebsocketCommunicator, frame: dict) -> list[dict]:
    await communicator.send_json_to(frame)
    return await until_pong(communicator, "after")
