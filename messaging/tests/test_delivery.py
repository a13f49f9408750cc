"""Live delivery through a real server process over Redis: prompt, to every member."""

import json
import time

import pytest
from websockets.sync.client import connect

from accounts.services import ws_ticket_issue
from rooms import services as room_services

pytestmark = [pytest.mark.services, pytest.mark.server]


def next_of_type(ws, kind: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == kind:
            return frame


def test_messages_reach_every_member_promptly(start_server, make_user):
    """Regression: the hub's layer channel had its own prefix, so channels-redis's one receive
    loop per process served it only between other receivers' 5 s pops; events arrived seconds
    late. Each send here must arrive well inside that."""
    alice, bob = make_user(), make_user()
    room = room_services.room_create(creator=alice, name="prompt")
    room_services.room_join(user=bob, room_id=room.id)
    server = start_server(server="uvicorn")
    url = f"{server.ws_url}/ws/?ticket="
    with connect(url + ws_ticket_issue(user=alice)) as a, connect(url + ws_ticket_issue(user=bob)) as b:
        assert next_of_type(a, "hello", 10)["rooms"] == [room.id]
        next_of_type(b, "hello", 10)
        for n in range(3):
            a.send(
                json.dumps({"type": "message.send", "room": room.id, "body": f"hi {n}", "client_id": f"c{n}"})
            )
            for ws in (a, b):
                frame = next_of_type(ws, "message.new", 2.0)
                assert frame["message"]["client_id"] == f"c{n}"
            time.sleep(0.5)
