"""Sync views (REST, the web composer) join the process's group commit under ASGI.

Driven through the real ASGI application (Django's handler gives each request its own worker
thread, as under uvicorn), with the publication lock held by another thread so that sends
pile up behind a write in progress, as they do under load.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import HttpCommunicator, WebsocketCommunicator
from django.db import OperationalError, connection
from rest_framework_simplejwt.tokens import AccessToken

from accounts.services import ws_ticket_issue
from chatsite.asgi import application
from chatsite.realtime.events import publication_order
from chatsite.realtime.models import Event
from messaging import batching, services
from messaging.models import Message

pytestmark = pytest.mark.django_db(transaction=True)


async def until(condition: Callable[[], bool]) -> None:
    """Poll ``condition`` (state of another thread or of the batcher; nothing to wait on)."""
    async with asyncio.timeout(10):
        while True:
            if condition():
                return
            await asyncio.sleep(0.005)


class HeldLock:
    """The publication lock, held by a thread of its own until ``release``."""

    def __init__(self) -> None:
        self.held, self._release = threading.Event(), threading.Event()
        self._thread = threading.Thread(target=self._hold)

    def _hold(self) -> None:
        try:
            with publication_order():
                self.held.set()
                self._release.wait(30)
        finally:
            connection.close()

    def __enter__(self) -> HeldLock:
        self._thread.start()
        assert self.held.wait(10)
        return self

    def release(self) -> None:
        self._release.set()
        self._thread.join(10)

    def __exit__(self, *exc: object) -> None:
        self.release()


def post(token: str, path: str, body: dict) -> asyncio.Task:
    content = json.dumps(body).encode()
    communicator = HttpCommunicator(
        application,
        "POST",
        path,
        body=content,
        headers=[
            (b"host", b"testserver"),
            (b"content-length", str(len(content)).encode()),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-type", b"application/json"),
        ],
    )

    async def exchange() -> dict:
        response = await communicator.get_response(timeout=20)
        await communicator.wait(timeout=5)  # the handler has finished, not only answered
        return response

    return asyncio.create_task(exchange())


async def test_rest_sends_waiting_behind_a_write_go_together_in_the_next(make_user, make_room):
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann, name="General")
    token = str(AccessToken.for_user(ann))
    path = f"/api/rooms/{room.id}/messages/"
    batcher = batching.get_batcher()
    with HeldLock() as lock:
        first = post(token, path, {"body": "first", "client_id": "c0"})
        # The batcher took it and its write waits for the lock ...
        await until(lambda: batcher._task is not None and batcher.queue.qsize() == 0)
        # ... while five more requests arrive and queue.
        rest = [post(token, path, {"body": f"m{n}", "client_id": f"c{n}"}) for n in range(1, 6)]
        await until(lambda: batcher.queue.qsize() == 5)
        assert not first.done()
        lock.release()
        responses = [await first] + [await task for task in rest]

    assert [r["status"] for r in responses] == [201] * 6
    bodies = [json.loads(r["body"]) for r in responses]
    assert [b["client_id"] for b in bodies] == [f"c{n}" for n in range(6)]
    rows = await db(list)(
        Message.objects.filter(room=room).order_by("id").values("id", "client_id", "created_at")
    )
    assert sorted(r["id"] for r in rows) == sorted(b["id"] for b in bodies)
    assert rows[0]["client_id"] == "c0"
    # Two writes: the first alone, then the five that waited, in one transaction.
    assert rows[0]["created_at"] != rows[1]["created_at"]
    assert len({r["created_at"] for r in rows[1:]}) == 1
    seqs = await db(list)(
        Event.objects.filter(room_id=room.id, type="message.new")
        .order_by("seq")
        .values_list("seq", flat=True)
    )
    assert len(seqs) == 6


async def test_rest_errors_from_the_batcher_are_the_api_errors(make_user, make_room):
    ann, outsider = await db(make_user)("ann"), await db(make_user)("eve")
    room = await db(make_room)(ann, name="General")
    path = f"/api/rooms/{room.id}/messages/"
    blank = await post(str(AccessToken.for_user(ann)), path, {"body": "   "})
    assert blank["status"] == 400
    assert "body" in json.loads(blank["body"])["fields"]
    foreign = await post(str(AccessToken.for_user(outsider)), path, {"body": "hello"})
    missing = await post(str(AccessToken.for_user(ann)), "/api/rooms/999999/messages/", {"body": "hello"})
    assert foreign["status"] == missing["status"] == 404
    assert foreign["body"] == missing["body"]
    retry_first = await post(str(AccessToken.for_user(ann)), path, {"body": "once", "client_id": "r"})
    retry_again = await post(str(AccessToken.for_user(ann)), path, {"body": "once", "client_id": "r"})
    assert (retry_first["status"], retry_again["status"]) == (201, 200)
    assert json.loads(retry_first["body"]) == json.loads(retry_again["body"])
    assert await db(Message.objects.filter(room=room).count)() == 1


async def test_a_send_that_fails_in_a_batch_fails_alone(make_user, make_room, monkeypatch):
    """The security probe's finding: one member's send that the database refused failed the
    whole group commit (other members' REST posts got 500, their sockets dropped). Injected here
    past validation, for one send of a batch that also holds a REST post and another socket's
    send: only that send fails, with a clear error; the others are stored and acknowledged."""
    ann, ben, cat = await db(make_user)("ann"), await db(make_user)("ben"), await db(make_user)("cat")
    room = await db(make_room)(ann, name="General", members=(ben, cat))
    real_payload = services.message_payload

    def payload_failing_for_boom(message, **kwargs):
        if message.body == "boom":
            raise RuntimeError("injected: this row cannot be written")
        return real_payload(message, **kwargs)

    monkeypatch.setattr(services, "message_payload", payload_failing_for_boom)
    ws_ann, ws_ben, ws_cat = await open_socket(ann), await open_socket(ben), await open_socket(cat)
    batcher = batching.get_batcher()
    with HeldLock() as lock:
        await ws_ben.send_json_to(
            {"type": "message.send", "room": room.id, "body": "first", "client_id": "b0"}
        )
        await until(lambda: batcher._task is not None and batcher.queue.qsize() == 0)
        # Behind the write in progress: the poisoned send, another socket's send and a REST post
        # (last: a waiting sync view holds the thread channels' consumers use between frames).
        await ws_ann.send_json_to(
            {"type": "message.send", "room": room.id, "body": "boom", "client_id": "a1"}
        )
        await until(lambda: batcher.queue.qsize() == 1)
        await ws_cat.send_json_to(
            {"type": "message.send", "room": room.id, "body": "by socket", "client_id": "c1"}
        )
        await until(lambda: batcher.queue.qsize() == 2)
        rest = post(
            str(AccessToken.for_user(ben)),
            f"/api/rooms/{room.id}/messages/",
            {"body": "by rest", "client_id": "b1"},
        )
        await until(lambda: batcher.queue.qsize() == 3)
        lock.release()
        response = await rest

    assert response["status"] == 201
    assert json.loads(response["body"])["body"] == "by rest"
    error = await next_frame(ws_ann, "error")
    assert error["code"] == "send_failed" and error["client_id"] == "a1" and error["detail"]
    assert (await next_frame(ws_ben, "message.ack"))["client_id"] == "b0"
    assert (await next_frame(ws_cat, "message.ack"))["client_id"] == "c1"
    for ws in (ws_ann, ws_ben, ws_cat):  # every socket is still open
        await ws.send_json_to({"type": "ping", "ref": 1})
        assert (await next_frame(ws, "pong"))["ref"] == 1
        await ws.disconnect()
    stored = await db(list)(Message.objects.order_by("id").values_list("body", flat=True))
    assert stored == ["first", "by socket", "by rest"]
    assert await db(Event.objects.filter(type="message.new").count)() == 3


async def open_socket(user) -> WebsocketCommunicator:
    communicator = WebsocketCommunicator(application, f"/ws/?ticket={await db(ws_ticket_issue)(user=user)}")
    assert (await communicator.connect(timeout=5))[0]
    assert (await communicator.receive_json_from(timeout=5))["type"] == "hello"
    return communicator


async def next_frame(communicator: WebsocketCommunicator, kind: str) -> dict:
    while True:
        frame = await communicator.receive_json_from(timeout=10)
        if frame["type"] == kind:
            return frame


def _down_for_one_batch(write):
    """``write`` behind a database that refuses the first batch, as PostgreSQL restarting does."""
    calls = {"n": 0}

    def written(items):
        calls["n"] += 1
        if calls["n"] == 1:
            raise OperationalError("terminating connection due to administrator command")
        return write(items)

    return written


async def test_sends_while_the_database_is_unreachable_fail_with_send_failed(
    make_user, make_room, monkeypatch
):
    """A restarting PostgreSQL made the socket answer internal_error: the batch's write raised
    OperationalError, which is no DomainError. Now each send of that batch gets send_failed
    (retry with the same client_id), the socket stays open, and the next send is stored."""
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann, name="General")
    monkeypatch.setattr(batching, "_write", _down_for_one_batch(batching._write))
    ws = await open_socket(ann)
    await ws.send_json_to({"type": "message.send", "room": room.id, "body": "lost", "client_id": "a1"})
    error = await next_frame(ws, "error")
    assert (error["code"], error["client_id"]) == ("send_failed", "a1") and error["detail"]
    await ws.send_json_to({"type": "message.send", "room": room.id, "body": "again", "client_id": "a1"})
    ack = await next_frame(ws, "message.ack")
    assert (ack["client_id"], ack["duplicate"]) == ("a1", False)
    await ws.disconnect()
    assert await db(list)(Message.objects.values_list("body", flat=True)) == ["again"]


async def test_reads_while_the_database_is_unreachable_fail_with_read_failed(
    make_user, make_room, monkeypatch
):
    """Reads have their own group commit: a batch the database refuses answers read_failed (the
    page reports the read again later), the socket stays open, and the next read is marked."""
    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    room = await db(make_room)(ann, name="General", members=(ben,))
    sent = await db(services.message_send)(sender=ann, room_id=room.id, body="hello", client_id="h1")
    monkeypatch.setattr(batching, "_mark_read", _down_for_one_batch(batching._mark_read))
    ws = await open_socket(ben)
    await ws.send_json_to({"type": "read", "room": room.id, "message": sent.message.id})
    error = await next_frame(ws, "error")
    assert error["code"] == "read_failed" and error["detail"]
    await ws.send_json_to({"type": "read", "room": room.id, "message": sent.message.id})
    updated = await next_frame(ws, "read.updated")
    assert (updated["room"], updated["last_read"], updated["unread"]) == (room.id, sent.message.id, 0)
    await ws.disconnect()
