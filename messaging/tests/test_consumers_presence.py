"""Presence over the socket: the page's reports, several tabs merged, coalesced pushes to small
rooms only, "appear offline", and bad frames."""

from __future__ import annotations

import asyncio

import pytest
from channels.db import database_sync_to_async as db

from accounts.services import user_profile_update
from chatsite.realtime.models import Event
from messaging.tests.test_consumers import assert_still_open, connect, hello
from rooms.selectors import presence_states

pytestmark = pytest.mark.django_db(transaction=True)

PUSH = 0.2  # seconds between two presence pushes of a hub, in these tests


@pytest.fixture
def fast_presence(settings):
    """Request before any fixture that connects: a hub reads the interval when it starts."""
    settings.PRESENCE_PUSH_SECONDS = PUSH


async def presence(ws, count: int = 1) -> list[tuple[int, str]]:
    """The next ``count`` presence frames (other frames are skipped), as (user, state)."""
    found = []
    while len(found) < count:
        frame = await ws.receive_json_from(timeout=5)
        if frame["type"] == "presence.updated":
            assert frame["seq"] is None
            found.append((frame["user"], frame["state"]))
    return found


async def quiet(ws, seconds: float = 4 * PUSH) -> None:
    assert await ws.receive_nothing(timeout=seconds)


@pytest.fixture
async def roommates(fast_presence, make_user, make_room):
    ann = await db(make_user)("ann")
    ben = await db(make_user)("ben")
    room = await db(make_room)(ann, name="General", members=(ben,))
    ws_ben = await connect(ben)
    await hello(ws_ben)
    assert await presence(ws_ben) == [(ben.id, "online")]  # everyone hears their own too
    ws_ann = await connect(ann)
    await hello(ws_ann)
    assert await presence(ws_ben) == [(ann.id, "online")]
    assert await presence(ws_ann) == [(ann.id, "online")]
    yield ann, ben, room, ws_ann, ws_ben
    for ws in (ws_ann, ws_ben):
        await ws.disconnect()


async def test_away_and_back_are_pushed_once_each_however_the_page_flickers(roommates):
    ann, _, _, ws_ann, ws_ben = roommates
    events_before = await db(Event.objects.count)()
    await ws_ann.send_json_to({"type": "presence", "active": False})
    assert await presence(ws_ben) == [(ann.id, "away")]
    # Hidden, shown, hidden, shown, hidden within one push interval: still away, nothing to say.
    for active in (True, False, True, False):
        await ws_ann.send_json_to({"type": "presence", "active": active})
    await quiet(ws_ben)
    for active in (True, False, True):
        await ws_ann.send_json_to({"type": "presence", "active": active})
    assert await presence(ws_ben) == [(ann.id, "online")]
    await quiet(ws_ben)
    assert await db(Event.objects.count)() == events_before  # ephemeral: nothing stored


async def test_several_tabs_are_one_state(roommates):
    ann, _, _, ws_ann, ws_ben = roommates
    tab = await connect(ann)
    await hello(tab)
    await tab.send_json_to({"type": "presence", "active": False})
    await quiet(ws_ben)  # a second tab, idle: ann is still online (her first tab is in use)
    await ws_ann.send_json_to({"type": "presence", "active": False})
    assert await presence(ws_ben) == [(ann.id, "away")]  # every tab idle
    await tab.disconnect()
    await quiet(ws_ben)  # closing one of two changes nothing
    await ws_ann.disconnect()
    assert await presence(ws_ben) == [(ann.id, "offline")]
    state = (await db(presence_states)(user_ids=[ann.id]))[ann.id]
    assert state.state == "offline" and state.last_seen is not None


async def test_presence_is_not_pushed_to_rooms_above_the_size(fast_presence, settings, make_user, make_room):
    settings.PRESENCE_PUSH_MAX_MEMBERS = 2
    ann, ben, cat = [await db(make_user)(name) for name in ("ann", "ben", "cat")]
    await db(make_room)(ann, name="Three", members=(ben, cat))
    ws_ben = await connect(ben)
    await hello(ws_ben)
    ws_ann = await connect(ann)
    await hello(ws_ann)
    await ws_ann.send_json_to({"type": "presence", "active": False})
    await quiet(ws_ben)
    # They read it when they open the member panel (or over REST).
    assert (await db(presence_states)(user_ids=[ann.id]))[ann.id].state == "away"
    for ws in (ws_ann, ws_ben):
        await ws.disconnect()


async def test_appear_offline_is_pushed_as_offline_and_activity_does_not_undo_it(roommates):
    ann, _, _, ws_ann, ws_ben = roommates
    await db(user_profile_update)(user=ann, appear_offline=True)
    assert await presence(ws_ben) == [(ann.id, "offline")]
    await ws_ann.send_json_to({"type": "presence", "active": False})
    await ws_ann.send_json_to({"type": "presence", "active": True})
    await quiet(ws_ben)
    state = (await db(presence_states)(user_ids=[ann.id]))[ann.id]
    assert (
        state.state == "offline" and state.last_seen == (await db(type(ann).objects.get)(pk=ann.pk)).last_seen
    )
    await db(user_profile_update)(user=ann, appear_offline=False)
    assert await presence(ws_ben) == [(ann.id, "online")]


@pytest.mark.parametrize(
    "frame", [{}, {"active": 1}, {"active": "false"}, {"active": None}, {"active": [True]}]
)
async def test_bad_presence_frames_get_an_error_and_change_nothing(roommates, frame):
    ann, _, _, ws_ann, ws_ben = roommates
    await ws_ann.send_json_to({"type": "presence", **frame})
    error = await ws_ann.receive_json_from(timeout=5)
    assert error["type"] == "error" and error["code"] == "invalid_presence"
    await assert_still_open(ws_ann)
    await quiet(ws_ben)
    assert (await db(presence_states)(user_ids=[ann.id]))[ann.id].state == "online"


async def test_a_flood_of_reports_is_one_change(roommates):
    ann, _, _, ws_ann, ws_ben = roommates
    loop = asyncio.get_running_loop()
    started = loop.time()
    for index in range(300):
        await ws_ann.send_json_to({"type": "presence", "active": index % 2 == 1})
    await assert_still_open(ws_ann)  # its pong: all 300 were taken
    pushes_during_flood = int((loop.time() - started) / PUSH) + 1
    await asyncio.sleep(2 * PUSH)
    # It ends active, as it began. A push that fell inside the flood may have caught it away
    # (then it is pushed back online): at most one push per interval, never 300.
    changes = []
    while not await ws_ben.receive_nothing(timeout=4 * PUSH):
        frame = await ws_ben.receive_json_from(timeout=5)
        if frame["type"] == "presence.updated":
            changes.append((frame["user"], frame["state"]))
    assert len(changes) <= pushes_during_flood + 1, changes
    assert changes == [] or changes[-1] == (ann.id, "online"), changes
