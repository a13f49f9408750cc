"""Presence: who is here now (online, away, offline), across server processes, with expiry.

Each server process's hub writes, every ``PRESENCE_HEARTBEAT_SECONDS``, one key per user with a
socket in that process (``presence:<user>:<process>``), expiring after ``PRESENCE_TTL_SECONDS``,
and lists itself under ``presence:procs``. A user is **online** while any process holds a live
key for them: several tabs and devices, on one process or several, are one state, and closing
one tab of two changes nothing. A process that closes its last socket of a user deletes that key
at once; one that dies without closing (SIGKILL, a lost host) stops refreshing, and its users go
offline when their keys expire — within ``PRESENCE_TTL_SECONDS``. The shared store is the cache:
Redis when ``REDIS_URL`` is set (all processes), the process's own memory otherwise (one process).

Each key holds whether the user is **active** there: a socket is active unless its page reported
that its tab is hidden or its person idle for ``PRESENCE_AWAY_SECONDS`` (a ``presence`` frame).
Every key of a user merged: **online** if any place is active, **away** if every place is
inactive, **offline** if none is live.

**last seen** is refreshed with each heartbeat and when the last socket closes. People who chose
"appear offline" are passed as ``hidden``: they read as offline with no last seen from here (the
caller shows the one frozen on their account).

Ephemeral by nature: nothing here touches the database or the event log.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.core.cache import cache

PROCS_KEY = "presence:procs"
SEEN_TTL = 90 * 24 * 3600  # how long a last-seen time is kept
ONLINE, AWAY, OFFLINE = "online", "away", "offline"


def _key(user_id: int, process: str) -> str:
    return f"presence:{user_id}:{process}"


def _seen_key(user_id: int) -> str:
    return f"presence:seen:{user_id}"


def _published_key(user_id: int) -> str:
    return f"presence:published:{user_id}"


def ttl() -> float:
    return float(settings.PRESENCE_TTL_SECONDS)


class ProcessPresence:
    """What one server process writes: its users' keys, refreshed by its hub."""

    def __init__(self) -> None:
        self.process = uuid.uuid4().hex[:16]

    def beat(self, users: Mapping[int, bool] | Iterable[int], now: float | None = None) -> None:
        """Mark these users present in this process for another TTL (one round trip for all,
        plus one for the process list): ``{user: active}``, or user ids, all active."""
        now = time.time() if now is None else now
        active = dict(users) if isinstance(users, Mapping) else dict.fromkeys(users, True)
        self._list_self(now)
        if active:
            cache.set_many({_key(u, self.process): (now, a) for u, a in active.items()}, timeout=ttl())
            cache.set_many({_seen_key(u): now for u in active}, timeout=SEEN_TTL)

    def gone(self, user_id: int, now: float | None = None) -> None:
        """The user's last socket in this process closed."""
        now = time.time() if now is None else now
        cache.delete(_key(user_id, self.process))
        cache.set(_seen_key(user_id), now, timeout=SEEN_TTL)

    def _list_self(self, now: float) -> None:
        # Read-modify-write: two processes listing themselves at once may lose one entry, which
        # that process's next heartbeat restores.
        procs: dict[str, float] = cache.get(PROCS_KEY) or {}
        live = {p: expires for p, expires in procs.items() if expires > now}
        if live.get(self.process, 0) - now < ttl() / 2 or len(live) != len(procs):
            live[self.process] = now + ttl()
            cache.set(PROCS_KEY, live, timeout=None)


def presence_of(
    user_ids: Iterable[int], now: float | None = None, hidden: Iterable[int] = ()
) -> dict[int, dict[str, Any]]:
    """``{user_id: {"state": "online" | "away" | "offline", "last_seen": epoch seconds | None}}``;
    ``hidden`` users (appear offline) are offline with no last seen. Callers decide who may see
    whom and who is hidden (``rooms.selectors``)."""
    now = time.time() if now is None else now
    users = sorted(set(user_ids))
    procs: dict[str, float] = cache.get(PROCS_KEY) or {}
    live = [p for p, expires in procs.items() if expires > now]
    keys = [_key(u, p) for u in users for p in live]
    found = cache.get_many(keys) if keys else {}
    seen = cache.get_many([_seen_key(u) for u in users]) if users else {}
    states: dict[int, str] = {}
    for key, (at, active) in found.items():
        if now - at < ttl():
            user = int(key.split(":")[1])
            if active or user not in states:
                states[user] = ONLINE if active else AWAY
    hide = set(hidden)
    return {
        u: {"state": OFFLINE, "last_seen": None}
        if u in hide
        else {"state": states.get(u, OFFLINE), "last_seen": seen.get(_seen_key(u))}
        for u in users
    }


def presence_changes(states: Mapping[int, dict[str, Any]]) -> list[int]:
    """Those users whose state differs from the last one published for them (by any process),
    now remembered as published: two processes noticing one change publish it once (or, in a
    race, twice — harmless). Two round trips for all."""
    published = cache.get_many([_published_key(u) for u in states])
    changed = [u for u, state in states.items() if published.get(_published_key(u)) != state["state"]]
    if changed:
        cache.set_many({_published_key(u): states[u]["state"] for u in changed}, timeout=SEEN_TTL)
    return changed
