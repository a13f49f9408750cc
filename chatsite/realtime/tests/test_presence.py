"""Presence in the shared store: several processes and tabs merge, expiry after a dead process."""

from __future__ import annotations

import asyncio

import pytest
from django.conf import settings

from chatsite.realtime.presence import ProcessPresence, presence_changes, presence_of

T0 = 1_900_000_000.0


def test_a_user_is_online_while_any_process_holds_them_and_last_seen_is_kept():
    one, two = ProcessPresence(), ProcessPresence()
    one.beat([1, 2], now=T0)
    two.beat([1], now=T0 + 1)
    assert presence_of([1, 2, 3], now=T0 + 2) == {
        1: {"state": "online", "last_seen": T0 + 1},
        2: {"state": "online", "last_seen": T0},
        3: {"state": "offline", "last_seen": None},
    }
    one.gone(1, now=T0 + 3)  # one of two places closed: still online
    assert presence_of([1], now=T0 + 4)[1]["state"] == "online"
    two.gone(1, now=T0 + 5)
    assert presence_of([1], now=T0 + 6)[1] == {"state": "offline", "last_seen": T0 + 5}


def test_a_process_that_stops_beating_leaves_its_users_offline_after_the_ttl():
    ttl, beat = settings.PRESENCE_TTL_SECONDS, settings.PRESENCE_HEARTBEAT_SECONDS
    alive, dead = ProcessPresence(), ProcessPresence()
    dead.beat([7], now=T0)
    now = T0
    while now + beat < T0 + ttl:  # only the live process keeps beating
        now += beat
        alive.beat([8], now=now)
    assert presence_of([7, 8], now=T0 + ttl - 1)[7]["state"] == "online"
    alive.beat([8], now=T0 + ttl + 1)
    later = presence_of([7, 8], now=T0 + ttl + 1)
    assert later[7] == {"state": "offline", "last_seen": T0}
    assert later[8]["state"] == "online"


@pytest.mark.django_db(transaction=True)
async def test_sockets_make_their_user_online_and_the_last_one_closing_offline(make_user):
    from channels.db import database_sync_to_async as db

    from chatsite.realtime.tests.test_fanout import _socket

    ann = await db(make_user)("ann")
    first, second = await _socket(ann), await _socket(ann)

    async def state() -> str:
        return (await asyncio.to_thread(presence_of, [ann.id]))[ann.id]["state"]

    async def eventually(expected: str) -> None:
        for _ in range(50):
            if await state() == expected:
                return
            await asyncio.sleep(0.05)
        assert await state() == expected

    await eventually("online")
    await first.disconnect()
    await asyncio.sleep(0.3)
    assert await state() == "online"  # closing one tab of two changes nothing
    await second.disconnect()
    await eventually("offline")
    assert (await asyncio.to_thread(presence_of, [ann.id]))[ann.id]["last_seen"] is not None


def test_away_when_every_place_of_a_user_is_inactive_online_when_any_is_active():
    laptop, phone = ProcessPresence(), ProcessPresence()
    laptop.beat({1: False, 2: True}, now=T0)
    phone.beat({1: True}, now=T0)
    assert presence_of([1, 2], now=T0 + 1) == {
        1: {"state": "online", "last_seen": T0},
        2: {"state": "online", "last_seen": T0},
    }
    phone.beat({1: False}, now=T0 + 2)  # the phone's tab was hidden too
    assert presence_of([1], now=T0 + 3)[1]["state"] == "away"
    phone.gone(1, now=T0 + 4)
    assert presence_of([1], now=T0 + 5)[1]["state"] == "away"  # the laptop is still open, idle
    laptop.gone(1, now=T0 + 6)
    assert presence_of([1], now=T0 + 7)[1] == {"state": "offline", "last_seen": T0 + 6}


def test_hidden_users_read_offline_with_no_last_seen_from_the_store():
    ProcessPresence().beat([1, 2], now=T0)
    assert presence_of([1, 2], now=T0 + 1, hidden=[1]) == {
        1: {"state": "offline", "last_seen": None},
        2: {"state": "online", "last_seen": T0},
    }


def test_a_change_is_reported_once_whichever_process_notices_it():
    online, away = {"state": "online", "last_seen": T0}, {"state": "away", "last_seen": T0}
    assert presence_changes({1: online, 2: away}) == [1, 2]
    assert presence_changes({1: online, 2: away}) == []  # a second process noticing the same
    assert presence_changes({1: away, 2: away}) == [1]
