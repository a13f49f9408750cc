"""Live delivery through a real server process over Redis: prompt, to every member."""

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from rest_framework_simplejwt.tokens import AccessToken
from websockets.sync.client import connect

from accounts.services import ws_ticket_issue

pytestmark = [pytest.mark.services, pytest.mark.server]


def next_of_type(ws, kind: str, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        frame = json.loads(ws.recv(timeout=max(0.01, deadline - time.monotonic())))
        if frame["type"] == kind:
            return frame


def test_messages_reach_every_member_promptly(start_server, room_of_two):
    """Regression: the hub's layer channel had its own prefix, so channels-redis's one receive
    loop per process served it only between other receivers' 5 s pops; events arrived seconds
    late. Each send here must arrive well inside that."""
    room, alice, bob = room_of_two
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


def test_a_burst_of_sends_arrives_complete_and_in_seq_order(start_server, room_of_two):
    """A burst of sends goes through the process's send batcher (group commits across sockets,
    see test_services): every member still gets each message once, in seq order, and the
    sender every ack."""
    room, alice, bob = room_of_two
    server = start_server(server="uvicorn")
    url = f"{server.ws_url}/ws/?ticket="
    with connect(url + ws_ticket_issue(user=alice)) as a, connect(url + ws_ticket_issue(user=bob)) as b:
        next_of_type(a, "hello", 10)
        next_of_type(b, "hello", 10)
        for n in range(20):
            a.send(
                json.dumps({"type": "message.send", "room": room.id, "body": f"b{n}", "client_id": f"k{n}"})
            )
        received = [next_of_type(b, "message.new", 5.0) for _ in range(20)]
        assert sorted(f["message"]["client_id"] for f in received) == sorted(f"k{n}" for n in range(20))
        seqs = [f["seq"] for f in received]
        assert seqs == sorted(seqs) and len(set(seqs)) == 20
        acks = [next_of_type(a, "message.ack", 5.0) for _ in range(20)]
        assert {f["client_id"] for f in acks} == {f"k{n}" for n in range(20)}


def test_concurrent_rest_sends_share_group_commits_without_emptying_the_pool(start_server, room_of_two):
    """REST sends join the process's group commit. Regression: each waiting request held a pooled
    connection, so as many concurrent sends as the pool's size left the batch writer none, and
    every request hung until the pool timed out. Here the pool has 2 and 12 sends are in flight."""
    room, alice, bob = room_of_two
    server = start_server(server="uvicorn", extra_env={"DB_POOL_MAX_SIZE": "2"})
    token = str(AccessToken.for_user(alice))

    def post(n: int) -> tuple[int, dict]:
        request = urllib.request.Request(
            f"{server.url}/api/rooms/{room.id}/messages/",
            data=json.dumps({"body": f"r{n}", "client_id": f"r{n}"}).encode(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=8) as response:
            return response.status, json.loads(response.read())

    with connect(f"{server.ws_url}/ws/?ticket={ws_ticket_issue(user=bob)}") as b:
        next_of_type(b, "hello", 10)
        with ThreadPoolExecutor(12) as pool:
            answers = list(pool.map(post, range(12)))
        assert [status for status, _ in answers] == [201] * 12
        received = [next_of_type(b, "message.new", 5.0) for _ in range(12)]
    assert sorted(f["message"]["client_id"] for f in received) == sorted(f"r{n}" for n in range(12))
    seqs = [f["seq"] for f in received]
    assert seqs == sorted(seqs) and len(set(seqs)) == 12
    assert {f["message"]["id"] for f in received} == {body["id"] for _, body in answers}
