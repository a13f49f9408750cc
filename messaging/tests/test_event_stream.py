"""The Server-Sent Events fallback (/events/stream/), through the real ASGI application."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator
from channels.db import database_sync_to_async as db
from django.test import Client, override_settings
from rest_framework_simplejwt.tokens import AccessToken

from accounts.services import ws_ticket_issue
from chatsite.asgi import application
from chatsite.realtime.fanout import get_hub
from messaging import services
from messaging.event_stream import EventStream
from messaging.tests.test_consumers import connect, hello

pytestmark = pytest.mark.django_db(transaction=True)


class Stream:
    """One GET /events/stream/ as a browser's EventSource sees it: status, then events."""

    def __init__(
        self, query: str = "", headers: tuple[tuple[bytes, bytes], ...] = (), method: str = "GET"
    ) -> None:
        scope = {
            "type": "http",
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": "/events/stream/",
            "raw_path": b"/events/stream/",
            "query_string": query.encode(),
            "headers": [(b"host", b"testserver"), *headers],
            "client": ("127.0.0.1", 1234),
            "server": ("testserver", 80),
        }
        self.app = ApplicationCommunicator(application, scope)
        self.buffer = ""
        self.finished = False

    async def start(self) -> tuple[int, dict[bytes, bytes]]:
        await self.app.send_input({"type": "http.request", "body": b""})
        start = await self.app.receive_output(5)
        assert start["type"] == "http.response.start"
        return start["status"], dict(start["headers"])

    async def body(self) -> bytes:
        message = await self.app.receive_output(5)
        return message["body"]

    async def raw_event(self, wait: float = 5) -> str:
        """The next event block (comments included), without its blank line."""
        while "\n\n" not in self.buffer:
            message = await self.app.receive_output(wait)
            self.buffer += message["body"].decode()
            if not message.get("more_body", False):
                self.finished = True
                if "\n\n" not in self.buffer:
                    raise EOFError("the stream ended")
        block, self.buffer = self.buffer.split("\n\n", 1)
        return block

    async def event(self, wait: float = 5) -> dict:
        """The next event with data (comments skipped): {"id", "event", "data" (parsed), "raw"}."""
        while True:
            block = await self.raw_event(wait)
            fields: dict = {"id": None, "event": None, "raw": None}
            data = []
            for line in block.split("\n"):
                name, _, value = line.partition(": ")
                if name == "data":
                    data.append(value)
                elif name in ("id", "event"):
                    fields[name] = value
            if data:
                fields["raw"] = "\n".join(data)
                fields["data"] = json.loads(fields["raw"])
                return fields

    async def close(self) -> None:
        await self.app.send_input({"type": "http.disconnect"})
        await self.app.wait(5)


async def open_stream(user, query: str = "", headers: tuple = ()) -> Stream:
    ticket = await db(ws_ticket_issue)(user=user)
    stream = Stream(f"ticket={ticket}{query}", headers)
    status, _ = await stream.start()
    assert status == 200
    return stream


async def sent(room, sender, body: str) -> dict:
    ack = await db(services.message_send)(sender=sender, room_id=room.id, body=body, client_id=body)
    return ack


@pytest.fixture
async def two(make_user, make_room):
    ann = await db(make_user)("ann")
    ben = await db(make_user)("ben")
    room = await db(make_room)(ann, name="General", members=(ben,))
    return ann, ben, room


async def test_refuses_anonymous_with_the_api_error_shape():
    stream = Stream()
    status, headers = await stream.start()
    assert status == 401 and headers[b"content-type"] == b"application/json"
    assert json.loads(await stream.body()) == {
        "detail": "Authentication credentials were not provided.",
        "code": "not_authenticated",
    }


async def test_stream_starts_with_hello_and_carries_the_sockets_frames_byte_for_byte(two):
    ann, ben, room = two
    stream = await open_stream(ben)
    ws = await connect(ben)
    first = await stream.event()
    socket_hello = await hello(ws)
    assert first["data"] == socket_hello and first["id"] == str(socket_hello["seq"])
    await sent(room, ann, "hi ben")
    over_socket = await ws.receive_from(timeout=5)
    over_stream = await stream.event()
    assert over_stream["raw"] == over_socket
    assert over_stream["id"] == str(json.loads(over_socket)["seq"])
    assert over_stream["data"]["type"] == "message.new"
    await ws.disconnect()
    await stream.close()


async def test_the_session_cookie_is_enough_without_an_origin(two):
    _ann, ben, _room = two
    client = Client()
    await db(client.force_login)(ben)
    cookie = f"sessionid={client.cookies['sessionid'].value}".encode()
    stream = Stream(headers=((b"cookie", cookie),))
    status, headers = await stream.start()
    assert status == 200 and headers[b"content-type"].startswith(b"text/event-stream")
    assert headers[b"x-accel-buffering"] == b"no"
    assert (await stream.event())["data"]["user"]["username"] == "ben"
    await stream.close()


async def test_a_room_you_are_not_in_is_refused_like_one_that_does_not_exist(two, make_user, api):
    _ann, _ben, room = two
    eve = await db(make_user)("eve")
    answers = []
    for room_id in (room.id, 10**9):
        stream = Stream(f"ticket={await db(ws_ticket_issue)(user=eve)}&room={room_id}")
        status, headers = await stream.start()
        answers.append((status, headers, await stream.body()))
    assert answers[0] == answers[1] and answers[0][0] == 404
    await db(api.force_authenticate)(eve)
    rest = await db(api.get)(f"/api/rooms/{10**9}/")
    assert json.loads(answers[0][2]) == rest.json()


async def test_catch_up_by_since_and_last_event_id_which_wins(two):
    ann, ben, room = two
    acks = [await sent(room, ann, f"m{i}") for i in range(3)]
    seqs = [a.seq for a in acks]
    stream = await open_stream(ben, f"&since={seqs[0]}")
    assert (await stream.event())["data"]["type"] == "hello"
    replayed = [await stream.event() for _ in range(2)]
    assert [e["data"]["message"]["body"] for e in replayed] == ["m1", "m2"]
    assert [e["id"] for e in replayed] == [str(s) for s in seqs[1:]]
    await stream.close()
    # The browser reconnects by itself to the same URL (its old since) with Last-Event-ID.
    again = await open_stream(ben, f"&since={seqs[0]}", headers=((b"last-event-id", str(seqs[1]).encode()),))
    assert (await again.event())["data"]["type"] == "hello"
    assert (await again.event())["data"]["message"]["body"] == "m2"
    await sent(room, ann, "live")
    assert (await again.event())["data"]["message"]["body"] == "live"  # no m2 twice, nothing lost
    await again.close()


async def test_a_bad_last_event_id_is_an_error_frame_then_live(two):
    _ann, ben, _room = two
    stream = await open_stream(ben, headers=((b"last-event-id", b"x1"),))
    error = await stream.event()
    assert error["data"]["code"] == "invalid_since" and error["id"] is None
    assert (await stream.event())["data"]["type"] == "hello"
    await stream.close()


async def test_heartbeats_keep_an_idle_stream_alive(two):
    _ann, ben, _room = two
    with override_settings(SSE_HEARTBEAT_SECONDS=0.05):
        stream = await open_stream(ben)
        await stream.event()  # hello
        beats = [await stream.raw_event() for _ in range(3)]
        assert beats == ["event: heartbeat\ndata: {}"] * 3
        await stream.close()


async def test_streams_per_user_are_capped_with_a_clear_error(two):
    ann, ben, _room = two
    with override_settings(SSE_MAX_STREAMS_PER_USER=2):
        first, second = await open_stream(ben), await open_stream(ben)
        third = Stream(f"ticket={await db(ws_ticket_issue)(user=ben)}")
        status, _ = await third.start()
        assert status == 429 and json.loads(await third.body())["code"] == "too_many_streams"
        await open_stream(ann)  # another user is not affected
        await first.close()
        fourth = await open_stream(ben)  # a closed one frees its place
        await second.close()
        await fourth.close()


async def test_ephemeral_typing_reaches_the_stream_of_the_open_room(two):
    ann, ben, room = two
    stream = await open_stream(ben, f"&room={room.id}")
    await stream.event()  # hello
    ws = await connect(ann)
    await hello(ws)
    await ws.send_json_to({"type": "typing.start", "room": room.id})
    typing = await stream.event()
    assert typing["data"]["type"] == "typing" and typing["data"]["user"]["id"] == ann.id
    assert typing["id"] is None  # ephemeral: no seq, so it never moves Last-Event-ID
    await ws.disconnect()
    await stream.close()


@pytest.fixture
async def ben_streaming(two):
    """ben's stream, past its hello, and the hub it is a subscriber of."""
    stream = await open_stream(two[1])
    await stream.event()
    hub = await get_hub()
    assert any(isinstance(s, EventStream) for s in hub.by_user[two[1].id])
    return two[1], stream, hub


async def test_a_hub_that_lost_events_ends_the_stream_with_1013(ben_streaming):
    ben, stream, hub = ben_streaming
    await hub.drop_all_sockets()
    close = await stream.event()
    assert close["event"] == "close" and close["data"]["code"] == 1013
    with pytest.raises(EOFError):
        await stream.event()
    assert ben.id not in hub.by_user
    await stream.close()


async def test_a_client_that_leaves_leaves_the_hub(ben_streaming):
    ben, stream, hub = ben_streaming
    await stream.close()
    await asyncio.sleep(0)
    assert ben.id not in hub.by_user


async def test_api_clients_may_use_a_bearer_token_and_a_bad_one_is_refused(two):
    _ann, ben, _room = two
    token = str(await db(AccessToken.for_user)(ben))
    stream = Stream(headers=((b"authorization", f"Bearer {token}".encode()),))
    assert (await stream.start())[0] == 200
    assert (await stream.event())["data"]["user"]["id"] == ben.id
    await stream.close()
    forged = Stream(headers=((b"authorization", f"Bearer {token[:-2]}xx".encode()),))
    assert (await forged.start())[0] == 401


async def test_a_stream_ends_at_its_time_limit_asking_for_a_reconnect(two):
    _ann, ben, _room = two
    with override_settings(SSE_MAX_SECONDS=0.2, SSE_HEARTBEAT_SECONDS=30):
        stream = await open_stream(ben)
        await stream.event()  # hello
        close = await stream.event()
        assert close["event"] == "close" and close["data"]["code"] == 1013
        with pytest.raises(EOFError):
            await stream.event()
        await stream.close()


async def test_a_stream_client_sends_and_types_over_rest(two, auth_api, make_user):
    ann, ben, room = two
    stream = await open_stream(ben, f"&room={room.id}")
    await stream.event()  # hello
    api = await db(auth_api)(ann)
    typing_url = f"/api/rooms/{room.id}/typing/"
    assert (await db(api.post)(typing_url, {"typing": True}, format="json")).status_code == 204
    assert (await db(api.post)(typing_url, {"typing": True}, format="json")).status_code == 204  # a repeat
    assert (await db(api.post)(typing_url, {"typing": False}, format="json")).status_code == 204
    sent = await db(api.post)(
        f"/api/rooms/{room.id}/messages/", {"body": "by rest", "client_id": "r1"}, format="json"
    )
    assert sent.status_code == 201
    got = [(await stream.event())["data"] for _ in range(3)]
    assert [(f["type"], f.get("typing")) for f in got] == [
        ("typing", True),
        ("typing", False),
        ("message.new", None),
    ]
    assert got[2]["message"]["id"] == sent.json()["id"]
    eve = await db(auth_api)(await db(make_user)("eve"))
    refused = await db(eve.post)(typing_url, {"typing": True}, format="json")
    missing = await db(eve.post)(f"/api/rooms/{10**9}/typing/", {"typing": True}, format="json")
    assert (
        (refused.status_code, refused.json())
        == (missing.status_code, missing.json())
        == (404, {"detail": "Not found.", "code": "not_found"})
    )
    await stream.close()


async def test_a_deactivated_account_hears_4403_and_the_stream_ends(ben_streaming):
    ben, stream, hub = ben_streaming
    await hub.close_accounts([ben.id])
    close = await stream.event()
    assert close["event"] == "close" and close["data"]["code"] == 4403
    with pytest.raises(EOFError):
        await stream.event()
    await stream.close()


async def test_only_get_streams():
    stream = Stream(method="POST")
    status, _ = await stream.start()
    assert status == 405 and json.loads(await stream.body())["code"] == "method_not_allowed"
