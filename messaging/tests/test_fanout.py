"""The process hub: routing by room, membership changes as they pass, layer failures."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator

from accounts.services import ws_ticket_issue
from chatsite.asgi import application
from messaging import fanout
from messaging.broadcasts import HUB_MESSAGE_TYPE


class FakeSocket:
    def __init__(self, user_id: int, wants_html: bool = False) -> None:
        self.user_id = user_id
        self.rooms: set[int] = set()
        self.wants_html = wants_html
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


async def test_lost_layer_asks_local_sockets_to_reconnect(monkeypatch):
    monkeypatch.setattr(fanout, "get_channel_layer", FlakyLayer)
    hub = fanout.Hub()
    socket = FakeSocket(1)
    hub.register(socket)
    await hub.start()
    for _ in range(50):
        if socket.dropped:
            break
        await asyncio.sleep(0.01)
    assert socket.dropped
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
