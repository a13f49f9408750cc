"""The process hub: routing by room, membership changes as they pass, layer failures."""

from __future__ import annotations

import asyncio
import contextlib

import pytest
from channels.db import database_sync_to_async as db
from channels.layers import InMemoryChannelLayer
from channels.testing import WebsocketCommunicator
from django.db import transaction
from django.utils import timezone

from accounts.services import ws_ticket_issue
from chatsite.asgi import application
from chatsite.realtime import fanout
from chatsite.realtime.broadcasts import HUB_MESSAGE_TYPE, PROCESS_GROUP
from chatsite.realtime.models import Event
from chatsite.realtime.selectors import latest_seq
from messaging import services
from messaging.models import Message
from messaging.serialization import message_payload


class FakeSocket:
    def __init__(self, user_id: int, wants_html: bool = False) -> None:
        self.user_id = user_id
        self.rooms: set[int] = set()
        self.open_room: int | None = None
        self.wants_html = wants_html
        self.active = True
        self.hidden = False
        self.presence_rooms: set[int] = set()
        self.received: list[tuple[int | None, str]] = []
        self.changes: list[tuple[str, int]] = []
        self.dropped = False

    async def deliver(self, seq, text):
        self.received.append((seq, text))

    def membership_changed(self, kind, room_id, seq):
        self.changes.append((kind, room_id))

    async def reconnect_required(self):
        self.dropped = True


def event(kind: str, room: int, seq: int, subject: int | None = None, html: str | None = None) -> dict:
    return {"type": HUB_MESSAGE_TYPE, "room": room, "seq": seq, "kind": kind, "subject": subject,
            "text": f"plain-{seq}", "html": html}  # fmt: skip


async def test_dispatch_routes_by_room_and_picks_the_encoding():
    hub = fanout.Hub()
    plain, html, elsewhere = FakeSocket(1), FakeSocket(2, wants_html=True), FakeSocket(3)
    for socket, rooms in ((plain, [10]), (html, [10]), (elsewhere, [11])):
        hub.register(socket)
        hub.attach(socket, rooms)
    await hub.dispatch(event("message.new", 10, 5, html="with-html-5"))
    assert plain.received == [(5, "plain-5")]
    assert html.received == [(5, "with-html-5")]
    assert elsewhere.received == []
    assert hub.delivered == 2


async def test_membership_events_update_the_registry_in_the_right_order():
    hub = fanout.Hub()
    member, newcomer = FakeSocket(1), FakeSocket(2)
    hub.register(member)
    hub.attach(member, [10])
    hub.register(newcomer)
    await hub.dispatch(event("member.joined", 10, 6, subject=2))
    assert newcomer.received == [(6, "plain-6")] and 10 in newcomer.rooms  # sees its own join
    await hub.dispatch(event("member.removed", 10, 7, subject=2))
    assert newcomer.received[-1] == (7, "plain-7")  # and its own removal
    await hub.dispatch(event("message.new", 10, 8))
    assert newcomer.received[-1] == (7, "plain-7") and 10 not in newcomer.rooms
    assert member.received[-1] == (8, "plain-8")
    assert newcomer.changes == [("member.joined", 10), ("member.removed", 10)]
    hub.unregister(member)
    assert hub.local_sockets(10) == 0 and hub.by_user.get(1) is None


class BrokenLayer:
    async def new_channel(self, prefix="x"):
        raise ConnectionError("redis is down")


class FlakyLayer:
    def __init__(self) -> None:
        self.calls = 0

    async def new_channel(self, prefix="x"):
        return "hub!1"

    async def group_add(self, group, channel):
        return None

    async def receive(self, channel):
        self.calls += 1
        if self.calls == 1:
            raise ConnectionError("lost redis")
        await asyncio.sleep(3600)


async def test_hub_that_cannot_subscribe_raises(monkeypatch):
    monkeypatch.setattr(fanout, "get_channel_layer", BrokenLayer)
    with pytest.raises(fanout.HubUnavailable):
        await fanout.Hub().start()


@pytest.mark.django_db(transaction=True)
async def test_lost_layer_asks_local_sockets_to_reconnect(monkeypatch):
    monkeypatch.setattr(fanout, "get_channel_layer", FlakyLayer)
    hub = await started_hub_that_drops_its_socket()
    hub._task.cancel()


async def started_hub_that_drops_its_socket() -> fanout.Hub:
    """A started hub (on the patched layer) whose one socket was asked to reconnect when the
    layer failed; the caller cancels ``hub._task``."""
    hub = fanout.Hub()
    socket = FakeSocket(1)
    hub.register(socket)
    await hub.start()
    for _ in range(100):
        if socket.dropped:
            break
        await asyncio.sleep(0.01)
    assert socket.dropped
    return hub


class RestartingLayer(InMemoryChannelLayer):
    """A real in-memory layer whose first receive fails after it forgot every group and
    channel: what a Redis without persistence does when it restarts."""

    restarted = False

    async def receive(self, channel):
        if not self.restarted:
            self.restarted = True
            await self.flush()
            raise ConnectionError("redis restarted")
        return await super().receive(channel)


@pytest.mark.django_db(transaction=True)
async def test_a_hub_rejoins_the_process_group_after_the_layer_restarted(monkeypatch):
    layer = RestartingLayer()
    monkeypatch.setattr(fanout, "get_channel_layer", lambda: layer)
    hub = await started_hub_that_drops_its_socket()
    socket = FakeSocket(2)
    hub.register(socket)
    hub.attach(socket, [7])
    seq = hub.last_seq + 1
    try:
        for _ in range(30):  # until the hub is back in the group (it waits 0.5 s after a failure)
            await layer.group_send(PROCESS_GROUP, event("message.new", room=7, seq=seq))
            await asyncio.sleep(0.1)
            if socket.received:
                break
        assert socket.received == [(seq, f"plain-{seq}")]
    finally:
        hub._task.cancel()


@pytest.mark.django_db(transaction=True)
async def test_socket_is_closed_with_try_again_when_the_layer_is_down(monkeypatch, make_user):
    monkeypatch.setattr(fanout, "get_channel_layer", BrokenLayer)
    monkeypatch.setattr(fanout, "_hubs", type(fanout._hubs)())
    user = await db(make_user)("ann")
    ticket = await db(ws_ticket_issue)(user=user)
    communicator = WebsocketCommunicator(application, f"/ws/?ticket={ticket}")
    connected, _ = await communicator.connect(timeout=5)
    assert connected  # accepted, then closed: the client should retry with backoff
    assert (await communicator.receive_output(timeout=5))["code"] == 1013


# --- gaps: events recorded whose publish never reached the hub ------------------------------


def record_unpublished(room_id: int, sender, body: str) -> int:
    """What a publish that fails after its commit leaves behind: the message and its event
    recorded, nothing sent to the channel layer. Returns the event's seq."""
    message = Message.objects.create(
        room_id=room_id, sender=sender, body=body, client_id=body, created_at=timezone.now()
    )
    payload = {"message": message_payload(Message.objects.select_related("sender").get(pk=message.pk))}
    return Event.objects.create(room_id=room_id, type="message.new", payload=payload).seq


async def bodies(ws: WebsocketCommunicator, count: int) -> list[tuple[str, int]]:
    out = []
    for _ in range(count):
        frame = await ws.receive_json_from(timeout=5)
        out.append((frame["message"]["body"], frame["seq"]))
    return out


@pytest.fixture
async def room_and_sockets(make_user, make_room):
    """ann and ben in one room, each with a live socket."""
    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    sockets = []
    for user in (ann, ben):
        ws = WebsocketCommunicator(application, f"/ws/?ticket={await db(ws_ticket_issue)(user=user)}")
        assert (await ws.connect(timeout=5))[0]
        assert (await ws.receive_json_from(timeout=5))["type"] == "hello"
        sockets.append(ws)
    yield ann, ben, room, sockets
    for ws in sockets:
        await ws.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_an_event_that_never_arrived_is_delivered_before_the_next(room_and_sockets):
    ann, _, room, sockets = room_and_sockets
    lost = await db(record_unpublished)(room.id, ann, "lost in transit")
    await db(services.message_send)(sender=ann, room_id=room.id, body="next", client_id="next")
    for ws in sockets:
        assert await bodies(ws, 2) == [("lost in transit", lost), ("next", lost + 1)]
        assert await ws.receive_nothing(timeout=0.2)
    assert (await fanout.get_hub()).recovered == 1


@pytest.mark.django_db(transaction=True)
async def test_a_quiet_hub_finds_a_lost_last_event(room_and_sockets, monkeypatch):
    monkeypatch.setattr(fanout, "GAP_CHECK_SECONDS", 0.2)
    ann, _, room, sockets = room_and_sockets
    hub = await fanout.get_hub()
    hub._watch_task.cancel()  # restart the check with the short interval
    hub._watch_task = asyncio.create_task(hub._watch())
    lost = await db(record_unpublished)(room.id, ann, "the last word")
    for ws in sockets:
        assert await bodies(ws, 1) == [("the last word", lost)]
    assert hub.recovered == 1


@pytest.mark.django_db(transaction=True)
async def test_a_lost_last_event_waits_at_most_one_gap_check_interval(room_and_sockets, monkeypatch):
    """The watcher checked on fixed ticks and skipped a tick that came less than an interval
    after an event: an event lost just after one that arrived waited up to two intervals."""
    monkeypatch.setattr(fanout, "GAP_CHECK_SECONDS", 2.0)
    ann, _, room, sockets = room_and_sockets
    hub = await fanout.get_hub()
    hub._watch_task.cancel()  # restart the check with this interval: its ticks fall at +2 s, +4 s
    hub._watch_task = asyncio.create_task(hub._watch())
    await db(services.message_send)(sender=ann, room_id=room.id, body="heard", client_id="heard")
    for ws in sockets:
        assert [body for body, _ in await bodies(ws, 1)] == ["heard"]
    lost_at = asyncio.get_running_loop().time()
    lost = await db(record_unpublished)(room.id, ann, "the last word")
    assert await bodies(sockets[0], 1) == [("the last word", lost)]
    waited = asyncio.get_running_loop().time() - lost_at
    assert waited < 2.0 + 0.6, waited  # on ticks: ~3.7 s (the +2 s tick skipped, found at +4 s)


@pytest.mark.django_db(transaction=True)
async def test_a_socket_that_caught_up_on_a_lost_event_does_not_get_it_again(room_and_sockets, make_user):
    ann, ben, room, sockets = room_and_sockets
    before = await db(latest_seq)()
    lost = await db(record_unpublished)(room.id, ann, "lost")
    # ben opens a second socket from an older cursor: its catch-up replays the lost event ...
    ticket = await db(ws_ticket_issue)(user=ben)
    late = WebsocketCommunicator(application, f"/ws/?ticket={ticket}&since={before}")
    assert (await late.connect(timeout=5))[0]
    assert (await late.receive_json_from(timeout=5))["type"] == "hello"
    assert await bodies(late, 1) == [("lost", lost)]
    # ... and when the hub later fills the gap, the sockets that missed it get it, once; this one doesn't.
    await db(services.message_send)(sender=ann, room_id=room.id, body="next", client_id="n")
    assert await bodies(late, 1) == [("next", lost + 1)]
    assert await late.receive_nothing(timeout=0.2)
    assert await bodies(sockets[1], 2) == [("lost", lost), ("next", lost + 1)]
    await late.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_a_hole_in_seq_costs_nothing_visible(room_and_sockets):
    """A rolled-back writer leaves a seq no event fills: the next event is simply delivered."""
    ann, _, room, sockets = room_and_sockets

    def rolled_back() -> None:
        with contextlib.suppress(RuntimeError), transaction.atomic():
            Event.objects.create(room_id=room.id, type="message.new", payload={})
            raise RuntimeError("abandoned")

    await db(rolled_back)()
    await db(services.message_send)(sender=ann, room_id=room.id, body="after the hole", client_id="h")
    for ws in sockets:
        assert [body for body, _ in await bodies(ws, 1)] == ["after the hole"]
        assert await ws.receive_nothing(timeout=0.2)
    assert (await fanout.get_hub()).recovered == 0


@pytest.mark.django_db(transaction=True)
async def test_too_many_lost_events_ask_sockets_to_reconnect(room_and_sockets, settings):
    settings.CATCHUP_MAX_EVENTS = 2
    ann, _, room, sockets = room_and_sockets
    for n in range(3):
        await db(record_unpublished)(room.id, ann, f"lost {n}")
    await db(services.message_send)(sender=ann, room_id=room.id, body="next", client_id="next")
    for ws in sockets:
        assert (await ws.receive_output(timeout=5))["code"] == 1013


@pytest.mark.django_db(transaction=True)
async def test_deactivating_a_user_closes_their_sockets_only(room_and_sockets):
    from accounts.services import users_deactivate

    _, ben, _, (ws_ann, ws_ben) = room_and_sockets
    assert await db(users_deactivate)(user_ids=[ben.id]) == 1
    assert (await ws_ben.receive_output(timeout=5))["code"] == 4403
    await ws_ann.send_json_to({"type": "ping", "ref": 1})
    assert await ws_ann.receive_json_from(timeout=5) == {"type": "pong", "ref": 1}
    assert (await fanout.get_hub()).by_user.get(ben.id) is None


# --- the ephemeral lane ----------------------------------------------------------------------


async def test_ephemeral_events_reach_their_audience_but_the_excluded_user_with_no_seq(monkeypatch):
    from chatsite.realtime import broadcasts, kinds

    monkeypatch.setattr(kinds, "REGISTRY", dict(kinds.REGISTRY))
    notice = kinds.declare("test.room-notice", stored=False)
    hub = fanout.Hub()
    typist, reader, other_tab_of_typist, elsewhere = (
        FakeSocket(1),
        FakeSocket(2),
        FakeSocket(1),
        FakeSocket(3),
    )
    for socket, rooms in ((typist, [10]), (reader, [10]), (other_tab_of_typist, [10]), (elsewhere, [11])):
        hub.register(socket)
        hub.attach(socket, rooms)
    message = broadcasts.ephemeral_message(
        notice, {"room": 10, "user": {"id": 1}}, room_id=10, exclude_user=1
    )
    await hub.dispatch(message)
    assert reader.received == [(None, '{"type":"test.room-notice","seq":null,"room":10,"user":{"id":1}}')]
    assert typist.received == other_tab_of_typist.received == elsewhere.received == []
    # Nothing to fill: an ephemeral event leaves the hub's seq alone.
    assert hub.last_seq == 0


async def test_an_open_room_audience_reaches_only_the_sockets_that_show_the_room():
    from chatsite.realtime import broadcasts, kinds

    hub = fanout.Hub()
    looking, elsewhere, nowhere, typist = FakeSocket(2), FakeSocket(3), FakeSocket(4), FakeSocket(1)
    for socket in (looking, elsewhere, nowhere, typist):
        hub.register(socket)
        hub.attach(socket, [10, 11])
    hub.show(looking, 10)
    hub.show(typist, 10)
    hub.show(elsewhere, 11)
    hub.show(nowhere, 99)  # not one of its rooms: shows none
    assert nowhere.open_room is None

    async def typing() -> list[int]:
        before = [len(s.received) for s in (looking, elsewhere, nowhere, typist)]
        await hub.dispatch(
            broadcasts.ephemeral_message(kinds.TYPING, {"room": 10}, room_id=10, exclude_user=typist.user_id)
        )
        return [
            len(s.received) - b for s, b in zip((looking, elsewhere, nowhere, typist), before, strict=True)
        ]

    assert await typing() == [1, 0, 0, 0]
    hub.show(looking, 11)  # switched rooms
    hub.show(elsewhere, 10)
    assert await typing() == [0, 1, 0, 0]
    await hub.dispatch(event("member.left", 10, 1, subject=elsewhere.user_id))  # left the room it shows
    assert elsewhere.open_room is None and await typing() == [0, 0, 0, 0]
    hub.show(looking, 10)
    hub.unregister(looking)
    assert hub.by_open_room[10] == {typist} and await typing() == [0, 0, 0, 0]
    hub.unregister(typist)
    assert hub.by_open_room.get(10) is None
    with pytest.raises(ValueError, match="pass room_id"):
        broadcasts.ephemeral_message(kinds.TYPING, {"room": 10}, users=[2])


async def test_a_users_audience_reaches_every_socket_of_those_users(monkeypatch):
    from chatsite.realtime import broadcasts, kinds

    monkeypatch.setattr(kinds, "REGISTRY", dict(kinds.REGISTRY))
    notice = kinds.declare("test.notice", stored=False, audience=kinds.Audience.USERS)
    hub = fanout.Hub()
    a1, a2, b, c = FakeSocket(1), FakeSocket(1), FakeSocket(2), FakeSocket(3)
    for socket in (a1, a2, b, c):
        hub.register(socket)
    await hub.dispatch(broadcasts.ephemeral_message(notice, {"n": 1}, users=[1, 2]))
    assert [len(s.received) for s in (a1, a2, b, c)] == [1, 1, 1, 0]
    with pytest.raises(ValueError, match="heard by users"):
        broadcasts.ephemeral_message(notice, {"n": 1}, room_id=5)


async def test_an_unknown_kind_from_a_newer_process_is_skipped():
    hub = fanout.Hub()
    socket = FakeSocket(1)
    hub.register(socket)
    hub.attach(socket, [10])
    await hub.dispatch(event("from.the.future", 10, 1))
    assert socket.received == []


@pytest.mark.django_db(transaction=True)
async def test_ephemeral_publish_from_sync_code_crosses_the_layer_and_stores_nothing(make_user, make_room):
    """The sync entry point of the lane (services, views): through the real channel layer (the
    in-memory one, or Redis in the services pass) to the hub, with no event row and no lock."""
    from asgiref.sync import sync_to_async

    from chatsite.realtime import broadcasts, kinds

    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    room = await db(make_room)(ann, name="General", members=(ben,))
    ws_ben = await _socket(ben)
    await ws_ben.send_json_to({"type": "room.open", "room": room.id})  # typing goes to who shows it
    await ws_ben.send_json_to({"type": "ping", "ref": 1})
    assert (await ws_ben.receive_json_from(timeout=5))["type"] == "pong"
    events_before = await db(Event.objects.count)()
    await sync_to_async(broadcasts.ephemeral_publish)(
        kinds.TYPING, {"room": room.id, "user": {"id": ann.id}}, room_id=room.id, exclude_user=ann.id
    )
    frame = await ws_ben.receive_json_from(timeout=5)
    assert frame == {"type": "typing", "seq": None, "room": room.id, "user": {"id": ann.id}}
    assert await db(Event.objects.count)() == events_before
    await ws_ben.disconnect()


async def _socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/?ticket={await db(ws_ticket_issue)(user=user)}")
    assert (await communicator.connect(timeout=5))[0]
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def test_a_hidden_user_leaving_one_place_is_not_published_as_present_elsewhere():
    """Ann appears offline, with a socket on another process: her socket here closing must not
    publish the other place's "online"."""
    import json

    from channels.layers import get_channel_layer

    from chatsite.realtime.broadcasts import PROCESS_GROUP
    from chatsite.realtime.presence import ProcessPresence

    layer = get_channel_layer()
    listener = await layer.new_channel()
    await layer.group_add(PROCESS_GROUP, listener)
    await asyncio.to_thread(ProcessPresence().beat, {1: True})  # her other place
    hub = fanout.Hub()
    socket = FakeSocket(1)
    socket.hidden, socket.presence_rooms = True, {10}
    hub.register(socket)
    hub.unregister(socket)
    await hub.push_presence()
    message = await asyncio.wait_for(layer.receive(listener), 5)
    assert json.loads(message["text"])["state"] == "offline"
    assert message["rooms"] == [10]
