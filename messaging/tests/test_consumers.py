"""The /ws/ protocol, frame by frame, through the real ASGI application."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import threading
from collections.abc import Callable

import pytest
from channels.db import database_sync_to_async as db
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.services import ws_ticket_issue
from chatsite.asgi import application
from chatsite.realtime import broadcasts
from chatsite.realtime import selectors as event_selectors
from chatsite.realtime.fanout import get_hub
from chatsite.realtime.models import Event
from conftest import elements, free_port
from messaging import changes, selectors, services
from messaging.consumers import ChatConsumer
from messaging.models import Message
from rooms import services as rooms

pytestmark = pytest.mark.django_db(transaction=True)


async def connect(user, query: str = "") -> WebsocketCommunicator:
    ticket = await db(ws_ticket_issue)(user=user)
    communicator = WebsocketCommunicator(application, f"/ws/?ticket={ticket}{query}")
    connected, _ = await communicator.connect(timeout=5)
    assert connected
    return communicator


async def hello(communicator: WebsocketCommunicator) -> dict:
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "hello"
    return frame


async def frames(communicator: WebsocketCommunicator, count: int) -> list[dict]:
    return [await communicator.receive_json_from(timeout=5) for _ in range(count)]


async def assert_still_open(communicator: WebsocketCommunicator) -> None:
    await communicator.send_json_to({"type": "ping", "ref": 7})
    assert await communicator.receive_json_from(timeout=5) == {"type": "pong", "ref": 7}


@pytest.fixture
async def pair(make_user, make_room):
    """ann (owner) and ben in room General, both connected."""
    ann = await db(make_user)("ann")
    ben = await db(make_user)("ben")
    room = await db(make_room)(ann, name="General", members=(ben,))
    ws_ann = await connect(ann)
    ws_ben = await connect(ben)
    await hello(ws_ann)
    await hello(ws_ben)
    yield ann, ben, room, ws_ann, ws_ben
    await ws_ann.disconnect()
    await ws_ben.disconnect()


async def test_hello_lists_rooms_and_seq(make_user, make_room):
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann)
    ws = await connect(ann)
    frame = await hello(ws)
    assert frame["user"] == {"id": ann.id, "username": "ann", "display_name": ""}
    assert frame["rooms"] == [room.id] and frame["seq"] >= 1
    await ws.disconnect()


async def test_message_reaches_every_member_and_sender_gets_ack(pair):
    _, _, room, ws_ann, ws_ben = pair
    await ws_ann.send_json_to({"type": "message.send", "room": room.id, "body": "hi ben", "client_id": "c1"})
    got = {f["type"]: f for f in await frames(ws_ann, 2)}
    new = got["message.new"]
    assert new["message"]["body"] == "hi ben" and new["message"]["sender"]["username"] == "ann"
    assert new["message"]["client_id"] == "c1" and new["message"]["room"] == room.id
    assert set(new["message"]) >= {"id", "room", "sender", "body", "created_at", "client_id"}
    assert got["message.ack"]["seq"] == new["seq"] and got["message.ack"]["duplicate"] is False
    assert await ws_ben.receive_json_from(timeout=5) == new
    assert await db(Message.objects.count)() == 1


async def test_html_variant_renders_the_partial_with_body_escaped(make_user, make_room):
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann)
    ws = await connect(ann, "&html=1")
    await hello(ws)
    body = '<script>alert(1)</script><a hx-get="/x">x</a>'
    await ws.send_json_to({"type": "message.send", "room": room.id, "body": body, "client_id": "h"})
    new = next(f for f in await frames(ws, 2) if f["type"] == "message.new")
    assert "<script>" not in new["html"] and "&lt;script&gt;" in new["html"]
    shown = new["html"][new["html"].index('class="message-body"') :]
    shown = shown[: shown.index("</div>")]
    assert not any(tag in {"script", "a"} or "hx-get" in attrs for tag, attrs in elements(shown))
    assert new["message"]["body"] == body
    await ws.disconnect()


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_frame"),
        ('"text"', "invalid_frame"),
        ("{}", "unknown_type"),
        ('{"type": "message.explode"}', "unknown_type"),
        ('{"type": "message.send", "room": "1", "body": "x", "client_id": "a"}', "invalid_room"),
        ('{"type": "message.send", "room": true, "body": "x", "client_id": "a"}', "invalid_room"),
        ('{"type": "message.send", "room": ROOM, "body": "x"}', "invalid_client_id"),
        ('{"type": "message.send", "room": ROOM, "body": "x", "client_id": ""}', "invalid_client_id"),
        ('{"type": "message.send", "room": ROOM, "client_id": "a"}', "invalid_message"),
        ('{"type": "message.send", "room": ROOM, "body": "   ", "client_id": "a"}', "invalid_message"),
        ('{"type": "message.send", "room": ROOM, "body": 5, "client_id": "a"}', "invalid_message"),
        ('{"type": "message.send", "room": ROOM, "body": "LONG", "client_id": "a"}', "invalid_message"),
        ('{"type": "message.send", "room": ROOM, "body": "x", "client_id": "ID65"}', "invalid_client_id"),
        ('{"type": "message.send", "room": 999999, "body": "x", "client_id": "a"}', "not_found"),
        ("HUGE", "frame_too_large"),
        # Shapes that used to raise in the consumer (and so dropped the socket) ...
        ('{"type": ["message.send"]}', "unknown_type"),
        ('{"type": {"a": 1}}', "unknown_type"),
        ('{"type": 5}', "unknown_type"),
        ('{"type": null}', "unknown_type"),
        ("[" * 20_000 + "]" * 20_000, "invalid_json"),
        # ... and text that cannot be encoded when stored or echoed back (lone surrogates).
        ('{"type": "message.send", "room": ROOM, "body": "bad \\ud800", "client_id": "a"}', "invalid_text"),
        ('{"type": "message.send", "room": ROOM, "body": "x", "client_id": "\\udc00"}', "invalid_text"),
        ('{"type": "ping", "ref": "\\ud800"}', "invalid_text"),
        ('{"type": "\\ud800"}', "invalid_text"),
        ('{"type": "ping", "ref": [1]}', "invalid_ref"),
        ('{"type": "ping", "ref": "RLONG"}', "invalid_ref"),
        (
            '{"type": "message.send", "room": ROOM, "body": "\\u200b\\u2060", "client_id": "a"}',
            "invalid_message",
        ),
    ],
)
async def test_bad_frames_get_an_error_frame_store_nothing_and_keep_the_socket(pair, raw, code):
    _, _, room, ws_ann, ws_ben = pair
    raw = (
        raw.replace("ROOM", str(room.id))
        .replace("LONG", "x" * 10_001)
        .replace("ID65", "i" * 65)
        .replace("HUGE", json.dumps({"type": "ping", "pad": "x" * 70_000}))
        .replace("RLONG", "r" * 65)
    )
    await ws_ann.send_to(text_data=raw)
    error = await ws_ann.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == code and error["detail"]
    await assert_still_open(ws_ann)
    assert await ws_ben.receive_nothing(timeout=0.2)
    assert await db(Message.objects.count)() == 0


async def test_error_frame_echoes_client_id(pair):
    _, _, room, ws_ann, _ = pair
    await ws_ann.send_json_to({"type": "message.send", "room": room.id, "body": "", "client_id": "mine"})
    assert (await ws_ann.receive_json_from(timeout=5))["client_id"] == "mine"


async def test_binary_frames_are_refused_politely(pair):
    _, _, _, ws_ann, _ = pair
    await ws_ann.send_to(bytes_data=b"\x00\x01")
    assert (await ws_ann.receive_json_from(timeout=5))["code"] == "unsupported_frame"
    await assert_still_open(ws_ann)


async def test_room_user_is_not_in_answers_like_a_missing_room(pair, make_user, make_room):
    _, _, _, ws_ann, _ = pair
    other_room = await db(make_room)(await db(make_user)("cat"), name="Elsewhere")
    answers = []
    for room_id in (other_room.id, 424242):
        await ws_ann.send_json_to({"type": "message.send", "room": room_id, "body": "x", "client_id": "q"})
        answers.append(await ws_ann.receive_json_from(timeout=5))
    assert answers[0] == answers[1] and answers[0]["code"] == "not_found"
    assert await db(Message.objects.count)() == 0


@override_settings(SEND_RATE_LIMIT=2)
async def test_rate_limit_is_an_error_frame(pair):
    _, _, room, ws_ann, _ = pair
    for i in range(2):
        await ws_ann.send_json_to(
            {"type": "message.send", "room": room.id, "body": "x", "client_id": f"r{i}"}
        )
        await frames(ws_ann, 2)
    await ws_ann.send_json_to({"type": "message.send", "room": room.id, "body": "x", "client_id": "r2"})
    error = await ws_ann.receive_json_from(timeout=5)
    assert (error["type"], error["code"], error["client_id"]) == ("error", "rate_limited", "r2")
    await assert_still_open(ws_ann)
    assert await db(Message.objects.count)() == 2


async def test_a_send_that_meets_redis_down_is_an_unavailable_error_frame(pair):
    """The send budget lives in the shared cache: with it on a Redis that refuses connections
    (a port nothing listens on: the real client failing for real) the send is refused with a
    code the client can act on, nothing is stored, the socket stays open, and the same
    client_id goes through once Redis answers again."""
    _, _, room, ws_ann, _ = pair
    send = {"type": "message.send", "room": room.id, "body": "x", "client_id": "c1"}
    down = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": f"redis://127.0.0.1:{free_port()}/0"}}  # fmt: skip
    with override_settings(CACHES=down):
        await ws_ann.send_json_to(send)
        error = await ws_ann.receive_json_from(timeout=10)
        assert (error["type"], error["code"], error["client_id"]) == ("error", "unavailable", "c1")
        assert await db(Message.objects.count)() == 0
    await assert_still_open(ws_ann)
    await ws_ann.send_json_to(send)
    ack, _ = sorted(await frames(ws_ann, 2), key=lambda f: f["type"])
    assert (ack["type"], ack["client_id"]) == ("message.ack", "c1")


async def test_resending_a_client_id_is_acknowledged_not_duplicated(pair):
    _, _, room, ws_ann, ws_ben = pair
    frame = {"type": "message.send", "room": room.id, "body": "once", "client_id": "same"}
    await ws_ann.send_json_to(frame)
    first = {f["type"]: f for f in await frames(ws_ann, 2)}
    await ws_ben.receive_json_from(timeout=5)
    await ws_ann.send_json_to(frame)
    ack = await ws_ann.receive_json_from(timeout=5)
    assert ack["type"] == "message.ack" and ack["duplicate"] is True
    assert ack["message"]["id"] == first["message.new"]["message"]["id"]
    assert await ws_ben.receive_nothing(timeout=0.2)
    assert await db(Message.objects.count)() == 1


async def test_catch_up_replays_in_order_then_goes_live(make_user, make_room):
    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    ws = await connect(ben)
    since = (await hello(ws))["seq"]
    await ws.disconnect()
    for i in range(5):
        await db(services.message_send)(sender=ann, room_id=room.id, body=f"missed {i}", client_id=f"m{i}")
    ws = await connect(ben, f"&since={since}")
    await hello(ws)
    replayed = await frames(ws, 5)
    assert [f["message"]["body"] for f in replayed] == [f"missed {i}" for i in range(5)]
    assert [f["seq"] for f in replayed] == sorted(f["seq"] for f in replayed)
    assert await ws.receive_nothing(timeout=0.2)
    await db(services.message_send)(sender=ann, room_id=room.id, body="live", client_id="live")
    live = await ws.receive_json_from(timeout=5)
    assert live["message"]["body"] == "live" and live["seq"] > replayed[-1]["seq"]
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


async def test_too_old_cursor_gets_resync(make_user, make_room, settings):
    settings.CATCHUP_MAX_EVENTS = 2
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann)
    for i in range(3):
        await db(services.message_send)(sender=ann, room_id=room.id, body="x", client_id=f"o{i}")
    ws = await connect(ann, "&since=0")
    await hello(ws)
    assert (await ws.receive_json_from(timeout=5))["type"] == "resync"
    await assert_still_open(ws)
    await ws.disconnect()


@pytest.mark.parametrize(
    "since",
    # str.isdigit() accepts superscripts and other scripts' digits, which int() rejects or reads.
    ["-1", "abc", "1e5", "9" * 30, "%C2%B2", "%D9%A3", "%EF%BC%91", "1%20"],
)
async def test_invalid_cursor_gets_error_then_a_live_socket(make_user, since):
    ann = await db(make_user)("ann")
    ws = await connect(ann, f"&since={since}")
    error = await ws.receive_json_from(timeout=5)
    assert (error["type"], error["code"]) == ("error", "invalid_since")
    await hello(ws)
    await assert_still_open(ws)
    await ws.disconnect()


async def test_joining_takes_effect_on_an_open_socket(make_user, make_room):
    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    room = await db(make_room)(ann)
    ws_ben = await connect(ben)
    assert (await hello(ws_ben))["rooms"] == []
    await db(rooms.room_join)(user=ben, room_id=room.id)
    joined = await ws_ben.receive_json_from(timeout=5)
    assert joined["type"] == "member.joined" and joined["user"]["id"] == ben.id
    await db(services.message_send)(sender=ann, room_id=room.id, body="welcome", client_id="w")
    assert (await ws_ben.receive_json_from(timeout=5))["message"]["body"] == "welcome"
    await ws_ben.send_json_to({"type": "message.send", "room": room.id, "body": "thanks", "client_id": "t"})
    assert {f["type"] for f in await frames(ws_ben, 2)} == {"message.new", "message.ack"}
    await ws_ben.disconnect()


@pytest.mark.parametrize("how", ["removed", "left"])
async def test_removed_or_leaving_member_receives_nothing_after(pair, how):
    ann, ben, room, ws_ann, ws_ben = pair
    if how == "removed":
        await db(rooms.member_remove)(actor=ann, room_id=room.id, user_id=ben.id, via="api")
    else:
        await db(rooms.room_leave)(user=ben, room_id=room.id)
    gone = await ws_ben.receive_json_from(timeout=5)
    assert gone["type"] == f"member.{how}" and gone["user"]["id"] == ben.id
    assert (await ws_ann.receive_json_from(timeout=5))["type"] == f"member.{how}"
    await db(services.message_send)(sender=ann, room_id=room.id, body="secret", client_id="s")
    assert (await ws_ann.receive_json_from(timeout=5))["type"] in {"message.new", "message.ack"}
    assert await ws_ben.receive_nothing(timeout=0.3)
    await ws_ben.send_json_to({"type": "message.send", "room": room.id, "body": "hey", "client_id": "h"})
    assert (await ws_ben.receive_json_from(timeout=5))["code"] == "not_found"


async def test_a_group_conversation_live_added_named_and_left(make_user):
    """Who is added hears the group from then on, everyone sees its new name, and who leaves
    hears nothing after."""
    ann, ben, cat, dan = [await db(make_user)(name) for name in ("ann", "ben", "cat", "dan")]
    group, _ = await db(rooms.dm_open)(user=ann, usernames=["ben", "cat"])
    sockets = {u.username: await connect(u) for u in (ann, ben, cat, dan)}
    for ws in sockets.values():
        await hello(ws)
    await db(rooms.member_add)(actor=ben, room_id=group.id, username="dan")
    joined = await sockets["dan"].receive_json_from(timeout=5)
    assert (joined["type"], joined["user"]["id"], joined["room"]["id"]) == ("member.joined", dan.id, group.id)
    await db(rooms.room_update)(actor=dan, room_id=group.id, name="Launch crew")
    for name in ("ann", "cat"):
        seen = [f["type"] for f in await frames(sockets[name], 2)]
        assert seen == ["member.joined", "room.updated"]
    renamed = await sockets["dan"].receive_json_from(timeout=5)
    assert (renamed["type"], renamed["room"]["name"]) == ("room.updated", "Launch crew")
    await sockets["dan"].send_json_to(
        {"type": "message.send", "room": group.id, "body": "hi all", "client_id": "g"}
    )
    assert {f["type"] for f in await frames(sockets["dan"], 2)} == {"message.new", "message.ack"}
    assert (await sockets["cat"].receive_json_from(timeout=5))["message"]["body"] == "hi all"
    await db(rooms.room_leave)(user=cat, room_id=group.id)
    left = await sockets["cat"].receive_json_from(timeout=5)
    assert (left["type"], left["user"]["id"]) == ("member.left", cat.id)
    await db(services.message_send)(sender=ann, room_id=group.id, body="after cat", client_id="a")
    assert (await sockets["dan"].receive_json_from(timeout=5))["type"] == "member.left"
    assert (await sockets["dan"].receive_json_from(timeout=5))["message"]["body"] == "after cat"
    assert await sockets["cat"].receive_nothing(timeout=0.3)
    for ws in sockets.values():
        await ws.disconnect()


async def test_dm_reaches_only_its_participants(make_user):
    ann, ben, cat = await db(make_user)("ann"), await db(make_user)("ben"), await db(make_user)("cat")
    sockets = {u.username: await connect(u) for u in (ann, ben, cat)}
    for ws in sockets.values():
        await hello(ws)
    room, _ = await db(rooms.dm_open)(user=ann, usernames=["ben"])
    await db(services.message_send)(sender=ann, room_id=room.id, body="psst", client_id="d")
    # Each participant's socket is attached by the event about them, so it sees joins from then on.
    ann_frames = await frames(sockets["ann"], 3)
    assert [f["type"] for f in ann_frames] == ["member.joined", "member.joined", "message.new"]
    ben_frames = await frames(sockets["ben"], 2)
    assert [f["type"] for f in ben_frames] == ["member.joined", "message.new"]
    assert ben_frames[0]["user"]["id"] == ben.id and ben_frames[0]["room"]["kind"] == "direct"
    assert await sockets["cat"].receive_nothing(timeout=0.3)
    for ws in sockets.values():
        await ws.disconnect()


async def test_every_socket_of_a_user_receives(make_user, make_room):
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann)
    tabs = [await connect(ann), await connect(ann)]
    for ws in tabs:
        await hello(ws)
    await db(services.message_send)(sender=ann, room_id=room.id, body="both", client_id="b")
    for ws in tabs:
        assert (await ws.receive_json_from(timeout=5))["message"]["body"] == "both"
        await ws.disconnect()


async def test_cursor_ahead_of_everything_gets_resync_and_then_live_events(make_user, make_room):
    """A cursor from another database (or a bogus one) must not hold back what comes next."""
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann)
    ws = await connect(ann, "&since=999999999")
    await hello(ws)
    assert (await ws.receive_json_from(timeout=5))["type"] == "resync"
    await db(services.message_send)(sender=ann, room_id=room.id, body="after resync", client_id="ar")
    assert (await ws.receive_json_from(timeout=5))["message"]["body"] == "after resync"
    await ws.disconnect()


# --- every exit path leaves the hub ----------------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _live_consumers() -> int:
    gc.collect()
    # type(), not isinstance(): gc also holds dead weak proxies, which isinstance() dereferences.
    return sum(1 for obj in gc.get_objects() if type(obj) is ChatConsumer)


async def test_sockets_that_crash_or_are_cancelled_leave_no_registration_behind(
    make_user, make_room, monkeypatch
):
    """A consumer that dies without a clean close (here: its connect raises after it registered,
    or its task is cancelled) must not stay in the hub, where it and all it holds would live as
    long as the process (measured before the fix: ~57 KB per crashed socket)."""
    ann = await db(make_user)("ann")
    await db(make_room)(ann, name="General")
    hub = await get_hub()
    real_snapshot = selectors.socket_snapshot

    def failing_snapshot(**kwargs):
        raise RuntimeError("injected: the database went away mid-connect")

    async def crash_one() -> None:
        communicator = WebsocketCommunicator(
            application, f"/ws/?ticket={await db(ws_ticket_issue)(user=ann)}"
        )
        connected, _ = await communicator.connect(timeout=5)  # accepted, then connect() raises
        assert connected
        with pytest.raises(RuntimeError, match="injected"):
            await asyncio.wait_for(communicator.future, 5)

    async def cancel_one() -> None:
        communicator = await connect(ann)
        await hello(communicator)
        assert hub.by_user
        communicator.future.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await communicator.future

    async def crash_many(count: int) -> None:
        monkeypatch.setattr(selectors, "socket_snapshot", failing_snapshot)
        for _ in range(count):
            await crash_one()
        monkeypatch.setattr(selectors, "socket_snapshot", real_snapshot)

    # Warm-up (caches, interned strings, the first allocations), then the measured run.
    await crash_many(20)
    for _ in range(5):
        await cancel_one()
    baseline_consumers, baseline_rss = _live_consumers(), _rss_bytes()
    await crash_many(300)
    for _ in range(20):
        await cancel_one()

    assert not hub.by_user and not hub.by_room
    assert _live_consumers() <= baseline_consumers
    assert _rss_bytes() - baseline_rss < 8 * 1024 * 1024  # before the fix: +17 MB per 300


# --- generated frames ----------------------------------------------------------------------

_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False)
    | st.text(max_size=40)
    | st.sampled_from(["\ud800", "\udfff x", "\u200b", "\u202e", "\x00", "x" * 10_001])
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
_frames = st.fixed_dictionaries(
    {"type": st.sampled_from(sorted(ChatConsumer.handlers)) | _json},
    optional={
        "room": _json | st.just("ROOM"),
        "body": _json,
        "client_id": _json,
        "ref": _json,
        # What the other handlers read (edit, delete, react, read, delivered, presence).
        "message": _json,
        "emoji": _json | st.sampled_from(["👍", "❤️", "nope"]),
        "active": _json,
        "reason": _json,
        "reply_to": _json,
        "attachments": _json,
    },
)
# Sends aimed at the real room often enough to reach the service (and be stored).
_sends = st.fixed_dictionaries(
    {
        "type": st.just("message.send"),
        "room": st.just("ROOM") | _scalars,
        "client_id": st.text(alphabet="abcdef0123456789-", min_size=1, max_size=12)
        | st.text(min_size=1, max_size=70)
        | _scalars,
        "body": st.text(alphabet="abc xyz!?é😀", min_size=1, max_size=30) | st.text(max_size=60) | _scalars,
    }
)
_raw = st.one_of(
    _frames.map(lambda frame: json.dumps(frame, ensure_ascii=True)),  # escapes: lone surrogates get in
    _sends.map(lambda frame: json.dumps(frame, ensure_ascii=True)),
    _sends.map(lambda frame: json.dumps(frame, ensure_ascii=False)),
    _json.map(json.dumps),
    st.text(min_size=1, max_size=200),
)


# Frame types answered only when refused (documented in docs/websocket.md).
SILENT_UNLESS_REFUSED = {"typing.start", "typing.stop", "room.open", "read", "presence", "delivered"}


@override_settings(SEND_RATE_LIMIT=100_000)
async def test_generated_frames_never_escape_as_exceptions(make_user, make_room, caplog):
    """Any frame, whatever its JSON shape, gets an error frame or its answer, the socket stays
    open, and nothing invalid is stored. Hypothesis draws the frames (a fixed seed, so a failure
    reproduces); one socket takes them all, so a frame that broke it fails every later one too."""
    ann = await db(make_user)("ann")
    room = await db(make_room)(ann, name="General")
    drawn: list[str] = []

    @hypothesis_settings(max_examples=500, deadline=None, derandomize=True, database=None)
    @given(raw=_raw)
    def draw(raw: str) -> None:
        drawn.append(raw.replace('"ROOM"', str(room.id)))

    draw()
    # Known frames first, so every kind of answer is reached whatever the draw holds.
    drawn[:0] = [
        json.dumps({"type": "message.send", "room": room.id, "body": "hello", "client_id": "known-1"}),
        json.dumps({"type": "ping", "ref": "known"}),
        json.dumps({"type": "message.send", "room": room.id, "body": " ", "client_id": "known-2"}),
        '{"type": "message.send", "room": ROOM, "body": "\\ud800", "client_id": "known-3"}'.replace(
            "ROOM", str(room.id)
        ),
        json.dumps({"type": {"nested": "type"}}),
        json.dumps({"type": "typing.start", "room": room.id}),
    ]
    communicator = await connect(ann)
    await hello(communicator)
    outcomes: dict[str, int] = {}
    for n, raw in enumerate(drawn):
        answers = await _exchange(communicator, raw, ref=f"probe-{n}")
        if not answers:  # fire-and-forget frames (typing, room.open, read) answer only when refused
            assert json.loads(raw)["type"] in SILENT_UNLESS_REFUSED, raw
            outcomes["typing"] = outcomes.get("typing", 0) + 1
            continue
        (answer,) = answers
        assert answer["type"] in {"error", "message.ack", "pong"}, (raw, answer)
        if answer["type"] == "error":
            assert answer["code"] != "internal_error" and answer["detail"], (raw, answer)
        key = answer.get("code") or ("duplicate" if answer.get("duplicate") else answer["type"])
        outcomes[key] = outcomes.get(key, 0) + 1
    await assert_still_open(communicator)
    await communicator.disconnect()
    assert not [r for r in caplog.records if r.levelname in {"ERROR", "CRITICAL"} or r.exc_info], (
        "a traceback"
    )
    # One message stored per ack, each valid text.
    bodies = await db(list)(Message.objects.values_list("body", flat=True))
    assert len(bodies) == outcomes.get("message.ack", 0)
    assert all(body.strip() and body.encode("utf-8") for body in bodies)
    # The frames reach every kind of answer, stored messages included.
    assert {"message.ack", "invalid_message", "invalid_text", "unknown_type", "pong"} <= outcomes.keys(), (
        outcomes
    )


async def _exchange(communicator: WebsocketCommunicator, raw: str, ref: str) -> list[dict]:
    """Send ``raw``, then a ping: what came back before its pong answered ``raw``."""
    await communicator.send_to(text_data=raw)
    await communicator.send_json_to({"type": "ping", "ref": ref})
    answers = []
    while True:
        frame = await communicator.receive_json_from(timeout=5)
        if frame == {"type": "pong", "ref": ref}:
            return answers
        if frame["type"] != "message.new":  # the broadcast of an acked send
            answers.append(frame)


@pytest.mark.parametrize("how", ["removed", "left"])
async def test_catch_up_brings_the_membership_change_about_you_in_a_room_you_are_no_longer_in(
    make_user, make_room, how
):
    """Removed (or left on another device) while this socket was offline: the replay must still
    tell it, though the room is no longer among its rooms, and nothing of the room after that."""
    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    ws = await connect(ben)
    since = (await hello(ws))["seq"]
    await ws.disconnect()
    if how == "removed":
        await db(rooms.member_remove)(actor=ann, room_id=room.id, user_id=ben.id, via="api")
    else:
        await db(rooms.room_leave)(user=ben, room_id=room.id)
    await db(services.message_send)(sender=ann, room_id=room.id, body="after you", client_id="a")
    ws = await connect(ben, f"&since={since}")
    assert (await hello(ws))["rooms"] == []
    gone = await ws.receive_json_from(timeout=5)
    assert (gone["type"], gone["room"]["id"], gone["user"]["id"]) == (f"member.{how}", room.id, ben.id)
    assert gone["seq"] > since
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


# --- races at connect, held open deterministically --------------------------------------------


class Gate:
    """Holds a selector the consumer calls in its database thread until the test opens it. That
    thread is then busy, so the test writes through ``off_thread`` meanwhile."""

    def __init__(self) -> None:
        self._reached = threading.Event()
        self._open = threading.Event()

    def hold(self) -> None:
        self._reached.set()
        if not self._open.wait(timeout=10):
            raise TimeoutError("the test never opened the gate")

    async def reached(self) -> None:
        assert await asyncio.to_thread(self._reached.wait, 10), "the consumer never reached the gate"

    def open(self) -> None:
        self._open.set()


@pytest.fixture
def gate():
    gate = Gate()
    yield gate
    gate.open()  # never leave a consumer's thread hanging after a failed test


def off_thread(func: Callable, **kwargs):
    """Run a service outside the (held) database thread the consumer uses."""
    return db(func, thread_sensitive=False)(**kwargs)


class HandedToSockets:
    """The seqs the hub has handed to a socket, by ``deliver`` or ``membership_changed``."""

    def __init__(self) -> None:
        self.seqs: list[int | None] = []
        self._changed = asyncio.Event()

    def note(self, seq: int | None) -> None:
        self.seqs.append(seq)
        self._changed.set()

    async def wait_for(self, seq: int) -> None:
        async with asyncio.timeout(5):
            while seq not in self.seqs:
                self._changed.clear()
                await self._changed.wait()


@pytest.fixture
def handed(monkeypatch) -> HandedToSockets:
    handed = HandedToSockets()
    deliver, membership_changed = ChatConsumer.deliver, ChatConsumer.membership_changed

    async def deliver_noted(self, seq, text):
        await deliver(self, seq, text)
        handed.note(seq)

    def membership_changed_noted(self, kind, room_id, seq):
        membership_changed(self, kind, room_id, seq)
        handed.note(seq)

    monkeypatch.setattr(ChatConsumer, "deliver", deliver_noted)
    monkeypatch.setattr(ChatConsumer, "membership_changed", membership_changed_noted)
    return handed


def held(monkeypatch, gate: Gate, module, name: str, *, before_reading: bool) -> None:
    """Make the consumer's call of ``module.<name>`` wait at ``gate``, before or after it read."""
    read = getattr(module, name)

    def held_read(**kwargs):
        if before_reading:
            gate.hold()
        result = read(**kwargs)
        if not before_reading:
            gate.hold()
        return result

    monkeypatch.setattr(module, name, held_read)


@pytest.mark.parametrize("before_reading", [True, False], ids=["held_before_reading", "held_after_reading"])
async def test_a_live_event_during_the_replay_comes_after_it_once(
    make_user, make_room, monkeypatch, gate, handed, before_reading
):
    """A message sent while the replay is being read reaches the socket after the replayed ones,
    exactly once: held before the replay reads, the replay has it too (no duplicate); held after,
    only the held-back live copy has it (no gap)."""
    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    room = await db(make_room)(ann, members=(ben,))
    ws = await connect(ben)
    since = (await hello(ws))["seq"]
    await ws.disconnect()
    for i in range(3):
        await db(services.message_send)(sender=ann, room_id=room.id, body=f"missed {i}", client_id=f"m{i}")
    held(monkeypatch, gate, event_selectors, "events_since", before_reading=before_reading)
    ws = await connect(ben, f"&since={since}")
    await hello(ws)
    await gate.reached()
    live = await off_thread(services.message_send, sender=ann, room_id=room.id, body="live", client_id="l")
    await handed.wait_for(live.seq)  # the hub gave it to the socket, which is still replaying
    gate.open()
    got = await frames(ws, 4)
    assert [f["message"]["body"] for f in got] == ["missed 0", "missed 1", "missed 2", "live"]
    assert got[-1]["seq"] == live.seq and [f["seq"] for f in got] == sorted({f["seq"] for f in got})
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


@pytest.mark.parametrize(
    "changes", [("joined",), ("removed",), ("removed", "joined")], ids=["joined", "removed", "rejoined"]
)
async def test_a_membership_change_while_the_socket_reads_its_rooms_is_not_lost(
    make_user, make_room, monkeypatch, gate, handed, changes
):
    """Between reading its rooms and attaching to the hub, the socket's user joins (or is removed
    from, or is removed from and joins again) a room. The events pass the hub in that window; the
    socket must still end up in (or out of) the room, hear each change once, and get the room's
    messages after it (or none)."""
    ann, ben = await db(make_user)("ann"), await db(make_user)("ben")
    member_at_first = changes[0] == "removed"
    room = await db(make_room)(ann, name="Changing", members=(ben,) if member_at_first else ())
    steady = await db(make_room)(ann, name="Steady", members=(ben,))
    held(monkeypatch, gate, selectors, "socket_snapshot", before_reading=False)
    ws = await connect(ben)
    await gate.reached()
    for change in changes:
        if change == "joined":
            await off_thread(rooms.room_join, user=ben, room_id=room.id)
        else:
            await off_thread(rooms.member_remove, actor=ann, room_id=room.id, user_id=ben.id, via="api")
    await handed.wait_for(await off_thread(event_selectors.latest_seq))
    gate.open()
    member_at_last = changes[-1] == "joined"
    assert set((await hello(ws))["rooms"]) == ({steady.id, room.id} if member_at_last else {steady.id})
    news = await frames(ws, len(changes))
    assert [(f["type"], f["room"]["id"], f["user"]["id"]) for f in news] == [
        (f"member.{change}", room.id, ben.id) for change in changes
    ]
    await db(services.message_send)(sender=ann, room_id=room.id, body="in Changing", client_id="c")
    await db(services.message_send)(sender=ann, room_id=steady.id, body="in Steady", client_id="s")
    # Events come in seq order, so whatever of Changing ben gets arrives before Steady's message.
    expected = ["in Changing", "in Steady"] if member_at_last else ["in Steady"]
    got = await frames(ws, len(expected))
    assert [f["type"] for f in got] == ["message.new"] * len(expected)
    assert [f["message"]["body"] for f in got] == expected
    assert await ws.receive_nothing(timeout=0.2)
    await ws.disconnect()


@pytest.mark.parametrize("removal", ["heard", "in_flight"])
async def test_retry_by_a_removed_member_is_not_found(pair, monkeypatch, removal):
    """Heard: the socket already dropped the room. In flight: the removal is committed but its
    event has not reached this process yet, so the socket still lists the room and the service
    answers. Either way a former member's retry gets not_found, not the original."""
    ann, ben, room, _, ws_ben = pair
    frame = {"type": "message.send", "room": room.id, "body": "before", "client_id": "early"}
    await ws_ben.send_json_to(frame)
    assert {f["type"] for f in await frames(ws_ben, 2)} == {"message.new", "message.ack"}
    if removal == "in_flight":
        monkeypatch.setattr(broadcasts, "event_published", lambda event: None)
    await db(rooms.member_remove)(actor=ann, room_id=room.id, user_id=ben.id, via="api")
    if removal == "heard":
        assert (await ws_ben.receive_json_from(timeout=5))["type"] == "member.removed"
    await ws_ben.send_json_to(frame)
    answer = await ws_ben.receive_json_from(timeout=5)
    assert (answer["type"], answer["code"], answer["client_id"]) == ("error", "not_found", "early")
    assert await db(Message.objects.count)() == 1


# --- typing: the first user of the ephemeral lane ------------------------------------------


async def show(communicator: WebsocketCommunicator, room_id: int | None) -> None:
    """Tell the server which room this client shows, and wait until it has handled that."""
    await communicator.send_json_to({"type": "room.open", "room": room_id})
    await assert_still_open(communicator)


async def test_typing_reaches_the_other_members_not_the_typist_and_stores_nothing(pair, make_user):
    ann, _, room, ws_ann, ws_ben = pair
    ws_ann_tab = await connect(ann)
    await hello(ws_ann_tab)
    for ws in (ws_ben, ws_ann_tab):
        await show(ws, room.id)
    events_before = await db(Event.objects.count)()
    await ws_ann.send_json_to({"type": "typing.start", "room": room.id})
    typing = await ws_ben.receive_json_from(timeout=5)
    assert typing == {
        "type": "typing",
        "seq": None,
        "room": room.id,
        "user": {"id": ann.id, "username": "ann", "display_name": ""},
        "typing": True,
    }
    # A burst from one socket is one event; the typist's own tabs hear none of it.
    await ws_ann.send_json_to({"type": "typing.start", "room": room.id})
    await ws_ann.send_json_to({"type": "typing.stop", "room": room.id})
    assert (await ws_ben.receive_json_from(timeout=5))["typing"] is False
    assert await ws_ben.receive_nothing(timeout=0.3)
    assert await ws_ann_tab.receive_nothing(timeout=0.1)
    await assert_still_open(ws_ann)  # and no answer was sent to the typist
    assert await db(Event.objects.count)() == events_before
    await ws_ann_tab.disconnect()


@pytest.mark.parametrize("frame_type", ["typing.start", "typing.stop"])
async def test_typing_in_a_room_you_are_not_in_is_the_same_not_found_as_a_send(
    pair, make_user, make_room, frame_type
):
    _, _, _, ws_ann, ws_ben = pair
    eve = await db(make_user)("eve")
    private = await db(make_room)(eve, name="Secret", kind="private")
    for room_id in (private.id, 999_999):
        await ws_ann.send_json_to({"type": frame_type, "room": room_id})
        assert await ws_ann.receive_json_from(timeout=5) == {
            "type": "error",
            "code": "not_found",
            "detail": "Not found.",
            "client_id": None,
        }
    await ws_ann.send_json_to({"type": frame_type, "room": "1"})
    assert (await ws_ann.receive_json_from(timeout=5))["code"] == "invalid_room"
    assert await ws_ben.receive_nothing(timeout=0.2)


# --- rich messages over the socket ---------------------------------------------------------


async def next_of(ws: WebsocketCommunicator, kind: str) -> dict:
    while True:
        frame = await ws.receive_json_from(timeout=5)
        if frame["type"] == kind:
            return frame


async def test_edit_react_and_delete_frames_reach_every_member(pair):
    ann, _, room, ws_ann, ws_ben = pair
    await ws_ben.send_json_to({"type": "message.send", "room": room.id, "body": "draft", "client_id": "b1"})
    mid = (await next_of(ws_ben, "message.ack"))["message"]["id"]
    await next_of(ws_ann, "message.new")
    await ws_ben.send_json_to({"type": "message.edit", "message": mid, "body": "final", "ref": "e1"})
    result = await next_of(ws_ben, "result")
    assert result["op"] == "message.edit" and result["ref"] == "e1" and result["message"]["body"] == "final"
    assert (await next_of(ws_ann, "message.updated"))["message"]["body"] == "final"
    await ws_ann.send_json_to({"type": "reaction.toggle", "message": mid, "emoji": "👍", "ref": 2})
    result = await next_of(ws_ann, "result")
    assert result["added"] is True and result["message"]["reactions"][0]["users"] == [ann.id]
    assert (await next_of(ws_ben, "message.updated"))["message"]["reactions"][0]["emoji"] == "👍"
    # Not yours: refused, with the request's ref; the socket stays open.
    await ws_ann.send_json_to({"type": "message.edit", "message": mid, "body": "hijack", "ref": 3})
    error = await next_of(ws_ann, "error")
    assert (error["code"], error["ref"]) == ("forbidden", 3)
    await ws_ben.send_json_to({"type": "message.delete", "message": mid})
    tombstone = await next_of(ws_ann, "message.deleted")
    assert tombstone["message"]["deleted"] is True and tombstone["message"]["body"] == ""
    await ws_ben.send_json_to({"type": "message.edit", "message": mid, "body": "zombie"})
    assert (await next_of(ws_ben, "error"))["code"] == "message_deleted"
    await assert_still_open(ws_ben)


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "message.edit", "body": "x"},
        {"type": "message.delete"},
        {"type": "reaction.toggle", "emoji": "👍"},
    ],
)
async def test_changes_to_a_message_in_a_room_you_are_not_in_are_not_found(pair, make_user, make_room, frame):
    _, _, _, ws_ann, _ = pair
    eve = await db(make_user)("eve")
    secret = await db(make_room)(eve, name="Secret", kind="private")
    hidden = await db(services.message_send)(sender=eve, room_id=secret.id, body="mine")
    answers = []
    for message_id in (hidden.message.id, 999_999, "x", None):
        await ws_ann.send_json_to({**frame, "message": message_id})
        answers.append(await ws_ann.receive_json_from(timeout=5))
    assert all(
        a == {"type": "error", "code": "not_found", "detail": "Not found.", "client_id": None}
        for a in answers
    )
    stored = await db(Message.objects.get)(pk=hidden.message.id)
    assert stored.body == "mine" and stored.deleted_at is None and stored.reactions == []


@override_settings(SEND_RATE_LIMIT=1000)
async def test_a_page_offline_during_edits_reactions_and_a_delete_catches_up_to_the_final_state(pair):
    """Replayed with since=, the events bring each message to its final state: the edited and
    reacted one as it ended, the deleted one as a tombstone whose text no replayed frame holds."""
    ann, ben, room, ws_ann, _ = pair
    probe = await connect(ann)
    since = (await hello(probe))["seq"]
    await probe.disconnect()
    await ws_ann.disconnect()  # ann is offline from here
    kept = await db(services.message_send)(sender=ben, room_id=room.id, body="keep me")
    gone = await db(services.message_send)(sender=ben, room_id=room.id, body="secret words")
    await db(changes.message_edit)(actor=ben, message_id=kept.message.id, body="kept, edited")
    await db(changes.reaction_toggle)(user=ben, message_id=kept.message.id, emoji="🎉")
    await db(changes.message_edit)(actor=ben, message_id=gone.message.id, body="more secret words")
    await db(changes.message_delete)(actor=ben, message_id=gone.message.id, via="websocket")
    ws = await connect(ann, f"&since={since}&html=1")
    await hello(ws)
    replay = []
    while (
        frame := await ws.receive_json_from(timeout=5) if not await ws.receive_nothing(timeout=0.5) else None
    ):
        replay.append(frame)
    final: dict[int, dict] = {}
    for frame in replay:
        final[frame["message"]["id"]] = frame["message"]
    assert final[kept.message.id]["body"] == "kept, edited"
    assert final[kept.message.id]["reactions"][0]["emoji"] == "🎉"
    assert final[gone.message.id]["deleted"] is True
    assert "secret" not in json.dumps(replay)
    assert [f["seq"] for f in replay] == sorted({f["seq"] for f in replay})  # once each, in order
    await ws.disconnect()


# --- read pointers -------------------------------------------------------------------------------


async def test_read_moves_the_pointer_and_every_socket_of_the_reader_hears_it(pair):
    ann, ben, room, ws_ann, ws_ben = pair
    ws_ben_tab = await connect(ben)
    await hello(ws_ben_tab)
    first = await db(services.message_send)(sender=ann, room_id=room.id, body="@ben hi", client_id="r1")
    await db(services.message_send)(sender=ann, room_id=room.id, body="two", client_id="r2")
    for ws in (ws_ann, ws_ben, ws_ben_tab):
        await frames(ws, 2)  # the two message.new
    events_before = await db(Event.objects.count)()
    await ws_ben.send_json_to({"type": "read", "room": room.id, "message": first.message.id})
    expected = {
        "type": "read.updated",
        "seq": None,
        "room": room.id,
        "last_read": first.message.id,
        "unread": 1,
        "unread_capped": False,
        "mentions": 0,
    }
    assert await ws_ben.receive_json_from(timeout=5) == expected
    assert await ws_ben_tab.receive_json_from(timeout=5) == expected
    assert await ws_ann.receive_nothing(timeout=0.2)
    # In the past (or the same): nothing moves, nobody hears anything, no answer.
    await ws_ben.send_json_to({"type": "read", "room": room.id, "message": first.message.id})
    assert await ws_ben_tab.receive_nothing(timeout=0.3)
    await assert_still_open(ws_ben)
    assert await db(Event.objects.count)() == events_before  # ephemeral: no event row


async def test_bad_read_frames_get_clear_errors_and_store_nothing(pair, make_user, make_room):
    ann, ben, room, _, ws_ben = pair
    sent = await db(services.message_send)(sender=ann, room_id=room.id, body="one", client_id="r1")
    await frames(ws_ben, 1)
    eve = await db(make_user)("eve")
    private = await db(make_room)(eve, name="Secret", kind="private")
    cases = [
        ({"room": private.id, "message": 1}, "not_found"),
        ({"room": 999_999, "message": 1}, "not_found"),
        ({"room": "1", "message": 1}, "invalid_room"),
        ({"message": 1}, "invalid_room"),
        ({"room": room.id, "message": sent.message.id + 1}, "invalid_read"),
        ({"room": room.id, "message": "x"}, "invalid_read"),
        ({"room": room.id}, "invalid_read"),
        ({"room": room.id, "message": -5}, "invalid_read"),
    ]
    for fields, code in cases:
        await ws_ben.send_json_to({"type": "read", **fields})
        answer = await ws_ben.receive_json_from(timeout=5)
        assert (answer["type"], answer["code"]) == ("error", code), fields
    await assert_still_open(ws_ben)
    membership = await db(lambda: ben.memberships.get(room=room))()
    assert membership.last_read_message_id == 0


async def test_typing_goes_only_to_sockets_that_show_the_room(pair, make_room):
    ann, ben, room, ws_ann, ws_ben = pair
    other = await db(make_room)(ann, name="Other", members=(ben,))
    ws_ben_elsewhere = await connect(ben)  # ben's second tab shows another room
    await hello(ws_ben_elsewhere)
    await frames(ws_ben, 1)  # member.joined of Other
    await show(ws_ben_elsewhere, other.id)
    await ws_ann.send_json_to({"type": "typing.start", "room": room.id})
    assert await ws_ben.receive_nothing(timeout=0.3)  # a member, but not looking: nothing
    assert await ws_ben_elsewhere.receive_nothing(timeout=0.1)
    await show(ws_ben, room.id)
    await ws_ann.send_json_to({"type": "typing.stop", "room": room.id})
    assert (await ws_ben.receive_json_from(timeout=5))["typing"] is False
    await show(ws_ben, None)  # shows no room any more
    await ws_ann.send_json_to({"type": "typing.start", "room": room.id})
    assert await ws_ben.receive_nothing(timeout=0.3)
    await ws_ben_elsewhere.disconnect()


async def test_a_flood_of_typing_frames_is_one_event_and_the_socket_stays_open(pair):
    _, _, room, ws_ann, ws_ben = pair
    await show(ws_ben, room.id)
    for _ in range(200):
        await ws_ann.send_json_to({"type": "typing.start", "room": room.id})
    await assert_still_open(ws_ann)
    assert (await ws_ben.receive_json_from(timeout=5))["typing"] is True
    assert await ws_ben.receive_nothing(timeout=0.5)


async def test_room_open_for_a_room_you_are_not_in_is_not_found(pair, make_user, make_room):
    _, _, _, ws_ann, _ = pair
    eve = await db(make_user)("eve")
    private = await db(make_room)(eve, name="Secret", kind="private")
    for room_id, code in (
        (private.id, "not_found"),
        (999_999, "not_found"),
        ("1", "invalid_room"),
        (1.5, "invalid_room"),
    ):
        await ws_ann.send_json_to({"type": "room.open", "room": room_id})
        assert (await ws_ann.receive_json_from(timeout=5))["code"] == code, room_id
    await ws_ann.send_json_to({"type": "room.open"})  # "room" is required (null: shows none)
    assert (await ws_ann.receive_json_from(timeout=5))["code"] == "invalid_room"
    await assert_still_open(ws_ann)


async def test_message_send_with_attachments_and_no_body(pair, settings, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from messaging.uploads import attachment_upload

    settings.MEDIA_ROOT = tmp_path
    ann, ben, room, ws_ann, ws_ben = pair
    doc = await db(attachment_upload)(
        uploader=ann, room_id=room.id, upload=SimpleUploadedFile("plan.txt", b"the plan")
    )
    bens = await db(attachment_upload)(
        uploader=ben, room_id=room.id, upload=SimpleUploadedFile("b.txt", b"b")
    )
    # Someone else's upload, or ids that are not a list: an error frame, the socket stays open.
    for attachments, code in (([bens.id], "invalid_attachments"), ("x", "invalid_attachments")):
        await ws_ann.send_json_to(
            {"type": "message.send", "room": room.id, "client_id": "bad", "attachments": attachments}
        )
        error = await ws_ann.receive_json_from(timeout=5)
        assert (error["type"], error["code"], error["client_id"]) == ("error", code, "bad")
    await assert_still_open(ws_ann)
    await ws_ann.send_json_to(
        {"type": "message.send", "room": room.id, "client_id": "f1", "attachments": [doc.id]}
    )
    got = {f["type"]: f for f in await frames(ws_ann, 2)}
    shown = got["message.new"]["message"]
    assert shown["body"] == "" and [a["name"] for a in shown["attachments"]] == ["plan.txt"]
    assert shown["attachments"][0]["url"] == f"/files/{doc.id}/plan.txt"
    assert await ws_ben.receive_json_from(timeout=5) == got["message.new"]
    # A socket that reconnects after missing it gets the same frame, with the same (lasting) URLs.
    again = await connect(ben, f"&since={got['message.new']['seq'] - 1}")
    await hello(again)
    assert await again.receive_json_from(timeout=5) == got["message.new"]
    await again.disconnect()
