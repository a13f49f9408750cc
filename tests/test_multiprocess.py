"""Two real server processes sharing PostgreSQL and Redis, as in production."""

from __future__ import annotations

import asyncio
import json
import urllib.request

import pytest
import websockets
from rest_framework_simplejwt.tokens import AccessToken

import conftest as root_conftest
from accounts.services import ws_ticket_issue
from conftest import event_lines
from messaging.models import Message
from rooms import services as rooms

pytestmark = [pytest.mark.services, pytest.mark.server]

MESSAGES = 40


async def open_socket(server, user, since: int | None = None):
    from channels.db import database_sync_to_async as db

    ticket = await db(ws_ticket_issue)(user=user)
    query = f"?ticket={ticket}" + (f"&since={since}" if since is not None else "")
    ws = await websockets.connect(f"{server.ws_url}/ws/{query}", open_timeout=10)
    hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert hello["type"] == "hello"
    return ws, hello


async def next_of_type(ws, kind: str, wait: float = 10) -> dict:
    while True:
        frame = json.loads(await asyncio.wait_for(ws.recv(), wait))
        if frame["type"] == kind:
            return frame


def test_messages_cross_processes_in_order_and_survive_a_killed_process(start_server, make_user, settings):
    ann, ben = make_user("ann"), make_user("ben")
    room = rooms.room_create(creator=ann, name="General")
    rooms.room_join(user=ben, room_id=room.id)
    env = {"SEND_RATE_LIMIT": "1000"}
    server_a = start_server(extra_env=env)
    server_b = start_server(extra_env=env)

    async def scenario() -> tuple[list[dict], list[dict]]:
        reader, _ = await open_socket(server_a, ben)
        writer, _ = await open_socket(server_b, ann)
        before_kill: list[dict] = []
        for i in range(MESSAGES):
            await writer.send(
                json.dumps({"type": "message.send", "room": room.id, "body": f"m{i}", "client_id": f"c{i}"})
            )
            await next_of_type(writer, "message.ack")
            if i < MESSAGES // 2:
                before_kill.append(await next_of_type(reader, "message.new"))
            elif i == MESSAGES // 2:
                server_a.kill()  # mid-stream: ben's process dies, ann keeps sending on B
        await writer.close()
        last_seq = before_kill[-1]["seq"]
        reader_b, _ = await open_socket(server_b, ben, since=last_seq)
        after: list[dict] = []
        while len(before_kill) + len(after) < MESSAGES:
            after.append(await next_of_type(reader_b, "message.new"))
        # Nothing more is coming: no duplicates trail behind.
        with pytest.raises(asyncio.TimeoutError):
            await next_of_type(reader_b, "message.new", wait=0.5)
        await reader_b.close()
        return before_kill, after

    before_kill, after = asyncio.run(scenario())
    bodies = [f["message"]["body"] for f in before_kill + after]
    assert bodies == [f"m{i}" for i in range(MESSAGES)]
    seqs = [f["seq"] for f in before_kill + after]
    assert seqs == sorted(set(seqs))
    assert Message.objects.count() == MESSAGES


async def closed(ws, wait: float = 10) -> None:
    """The socket closes within ``wait`` (frames still on their way, e.g. presence, are skipped)."""
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), wait)


async def say(ws, room_id: int, body: str) -> None:
    """Send, and wait until the sender has its ack and its own copy (so neither is left in the
    way of what the test reads next)."""
    await ws.send(json.dumps({"type": "message.send", "room": room_id, "body": body, "client_id": body}))
    seen: set[str] = set()
    while seen != {"message.ack", "message.new"}:
        frame = json.loads(await asyncio.wait_for(ws.recv(), 10))
        if frame["type"] == "message.ack" or (
            frame["type"] == "message.new" and frame["message"]["body"] == body
        ):
            seen.add(frame["type"])


async def live(ws) -> None:
    """Return once the socket is past its connect (catch-up included): the consumer handles a
    frame only after connect() returned, so a pong means what comes next is delivered live."""
    await ws.send(json.dumps({"type": "ping", "ref": 1}))
    assert await next_of_type(ws, "pong") == {"type": "pong", "ref": 1}


def test_live_delivery_crosses_processes_both_ways_after_one_restarts(start_server, make_user, monkeypatch):
    """Process A is killed and started again on its port: a socket on the new A hears, live, what
    a socket on B sends, and the socket B kept open all along hears what the new A sends.
    The hubs' database gap check is off, so nothing but the channel layer can bring them."""
    ann, ben = make_user("ann"), make_user("ben")
    room = rooms.room_create(creator=ann, name="General")
    rooms.room_join(user=ben, room_id=room.id)
    env = {"HUB_GAP_CHECK_SECONDS": "3600"}
    server_a, server_b = start_server(extra_env=env), start_server(extra_env=env)

    def restart(port: int):
        monkeypatch.setattr(root_conftest, "free_port", lambda: port)
        return start_server(extra_env=env)

    async def scenario() -> None:
        ann_on_b, _ = await open_socket(server_b, ann)
        ben_on_a, _ = await open_socket(server_a, ben)
        await live(ben_on_a)
        await say(ann_on_b, room.id, "before the restart")
        assert (await next_of_type(ben_on_a, "message.new"))["message"]["body"] == "before the restart"

        server_a.kill()
        await closed(ben_on_a)
        server_a2 = await asyncio.to_thread(restart, server_a.port)
        ben_on_a2, _ = await open_socket(server_a2, ben)
        await live(ben_on_a2)

        await say(ann_on_b, room.id, "B to the new A")
        assert (await next_of_type(ben_on_a2, "message.new"))["message"]["body"] == "B to the new A"
        await say(ben_on_a2, room.id, "the new A to B")
        assert (await next_of_type(ann_on_b, "message.new"))["message"]["body"] == "the new A to B"
        for ws in (ann_on_b, ben_on_a2):
            await ws.close()

    asyncio.run(scenario())


def test_typing_crosses_processes_to_the_sockets_that_show_the_room(start_server, make_user):
    """Ann types on process B; Ben's socket on process A that shows the room hears it, his
    other socket on A (showing nothing) does not, and Ann's own tab on A does not either."""
    ann, ben = make_user("ann"), make_user("ben")
    room = rooms.room_create(creator=ann, name="General")
    rooms.room_join(user=ben, room_id=room.id)
    server_a, server_b = start_server(), start_server()

    async def scenario() -> None:
        ann_on_b, _ = await open_socket(server_b, ann)
        ann_tab_on_a, _ = await open_socket(server_a, ann)
        ben_looking, _ = await open_socket(server_a, ben)
        ben_elsewhere, _ = await open_socket(server_a, ben)
        for ws in (ben_looking, ann_tab_on_a):
            await ws.send(json.dumps({"type": "room.open", "room": room.id}))
            await live(ws)
        await live(ann_on_b)
        await ann_on_b.send(json.dumps({"type": "typing.start", "room": room.id}))
        typing = await next_of_type(ben_looking, "typing")
        assert (typing["room"], typing["user"]["id"], typing["typing"]) == (room.id, ann.id, True)
        await ann_on_b.send(json.dumps({"type": "typing.stop", "room": room.id}))
        assert (await next_of_type(ben_looking, "typing"))["typing"] is False
        for ws in (ben_elsewhere, ann_tab_on_a):
            with pytest.raises(asyncio.TimeoutError):
                await next_of_type(ws, "typing", wait=0.5)
        for ws in (ann_on_b, ann_tab_on_a, ben_looking, ben_elsewhere):
            await ws.close()

    asyncio.run(scenario())


def test_presence_is_one_state_across_processes_and_a_killed_process_goes_offline_in_time(
    start_server, make_user, settings
):
    """Ben has a socket on each of two processes: online once; closing one changes nothing.
    SIGKILL of the process holding Ann's only socket makes her offline within the TTL."""
    from chatsite.realtime.presence import presence_of

    settings.PRESENCE_TTL_SECONDS = 3  # as the servers below are told
    env = {"PRESENCE_TTL_SECONDS": "3", "PRESENCE_HEARTBEAT_SECONDS": "1"}
    ann, ben = make_user("ann"), make_user("ben")
    server_a, server_b = start_server(extra_env=env), start_server(extra_env=env)

    def state(user) -> str:
        return presence_of([user.id])[user.id]["state"]

    async def until(user, expected: str, within: float) -> float:
        start = asyncio.get_running_loop().time()
        while state(user) != expected:
            assert asyncio.get_running_loop().time() - start < within, f"{user} not {expected} in {within}s"
            await asyncio.sleep(0.1)
        return asyncio.get_running_loop().time() - start

    async def scenario() -> None:
        ann_on_b, _ = await open_socket(server_b, ann)
        ben_on_a, _ = await open_socket(server_a, ben)
        ben_on_b, _ = await open_socket(server_b, ben)
        await until(ann, "online", within=5)
        await until(ben, "online", within=5)
        await ben_on_b.close()
        await asyncio.sleep(1.5)
        assert state(ben) == "online"  # still open on A
        server_b.kill()  # SIGKILL: nothing is closed cleanly, nothing says goodbye
        took = await until(ann, "offline", within=3 + 1.5)
        assert state(ben) == "online" and took > 0.5  # by expiry, not by an orderly close
        await ben_on_a.close()
        await until(ben, "offline", within=2)
        await closed(ann_on_b, wait=5)

    asyncio.run(scenario())


def test_presence_changes_cross_processes_live(start_server, make_user):
    """Ann, on process A, hears Ben's presence live as he comes online on process B, goes away
    (his page reports it there), comes back and closes his socket. (A killed process's users go
    offline by expiry, which no event announces: the expiry test above.)"""
    from rooms.selectors import presence_states

    env = {"PRESENCE_PUSH_SECONDS": "1", "PRESENCE_TTL_SECONDS": "3", "PRESENCE_HEARTBEAT_SECONDS": "1"}
    ann, ben = make_user("ann"), make_user("ben")
    room = rooms.room_create(creator=ann, name="Pair")
    rooms.room_join(user=ben, room_id=room.id)
    server_a, server_b = start_server(extra_env=env), start_server(extra_env=env)

    async def scenario() -> None:
        ann_on_a, _ = await open_socket(server_a, ann)
        ben_on_b, _ = await open_socket(server_b, ben)

        async def ben_is(state: str) -> None:
            while True:
                frame = await next_of_type(ann_on_a, "presence.updated")
                if frame["user"] == ben.id and frame["state"] == state:
                    return

        await ben_is("online")
        await ben_on_b.send(json.dumps({"type": "presence", "active": False}))
        await ben_is("away")
        await ben_on_b.send(json.dumps({"type": "presence", "active": True}))
        await ben_is("online")
        await ben_on_b.close()
        await ben_is("offline")
        await ann_on_a.close()

    asyncio.run(scenario())
    assert presence_states(user_ids=[ben.id])[ben.id].state == "offline"


def test_an_event_stream_on_one_process_hears_sends_on_another_and_resumes_on_it(start_server, make_user):
    ann, ben = make_user("ann"), make_user("ben")
    room = rooms.room_create(creator=ann, name="General")
    rooms.room_join(user=ben, room_id=room.id)
    server_a, server_b = start_server(), start_server()
    ann_token, ben_token = str(AccessToken.for_user(ann)), str(AccessToken.for_user(ben))

    def send(body: str) -> None:
        request = urllib.request.Request(
            f"{server_b.url}/api/rooms/{room.id}/messages/",
            data=json.dumps({"body": body, "client_id": body}).encode(),
            headers={"Authorization": f"Bearer {ann_token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 201

    def stream(server, last_event_id: str | None = None):
        headers = {"Authorization": f"Bearer {ben_token}"}
        if last_event_id is not None:
            headers["Last-Event-ID"] = last_event_id
        request = urllib.request.Request(f"{server.url}/events/stream/", headers=headers)
        return urllib.request.urlopen(request, timeout=10)

    def message(response) -> tuple[str, str]:
        """(id, body) of the next message.new."""
        lines = event_lines(response, '"type":"message.new"')
        frame = json.loads(lines[-1].removeprefix("data: "))
        assert lines[-2] == f"id: {frame['seq']}"
        return lines[-2].removeprefix("id: "), frame["message"]["body"]

    with stream(server_a) as on_a:
        event_lines(on_a, '"type":"hello"')
        for i in range(4):
            send(f"m{i}")
        got = [message(on_a) for _ in range(4)]
    assert [body for _, body in got] == ["m0", "m1", "m2", "m3"]
    # As a browser reconnects (here to the other process): Last-Event-ID of the second one.
    with stream(server_b, last_event_id=got[1][0]) as on_b:
        event_lines(on_b, '"type":"hello"')
        send("m4")
        assert [message(on_b)[1] for _ in range(3)] == ["m2", "m3", "m4"]
    assert Message.objects.filter(room=room).count() == 5
