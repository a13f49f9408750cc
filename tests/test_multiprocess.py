"""Two real server processes sharing PostgreSQL and Redis, as in production."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets

from accounts.services import ws_ticket_issue
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
