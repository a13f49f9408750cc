"""Presence: who has a socket open now, across server processes, with expiry.

Each server process's hub writes, every ``PRESENCE_HEARTBEAT_SECONDS``, one key per user with a
socket in that process (``presence:<user>:<process>``), expiring after ``PRESENCE_TTL_SECONDS``,
and lists itself under ``presence:procs``. A user is **online** while any process holds a live
key for them: several tabs and devices, on one process or several, are one state, and closing
one tab of two changes nothing. A process that closes its last socket of a user deletes that key
at once; one that dies without closing (SIGKILL, a lost host) stops refreshing, and its users go
offline when their keys expire — within ``PRESENCE_TTL_SECONDS``. The shared store is the cache:
Redis when ``REDIS_URL`` is set (all processes), the process's own memory otherwise (one process).

**last seen** is refreshed with each heartbeat and when the last socket closes.

Ephemeral by nature: nothing here touches the database or the event log.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache

PROCS_KEY = "presence:procs"
SEEN_TTL = 90 * 24 * 3600  # how long a last-seen time is kept


def _key(user_id: int, process: str) -> str:
    return f"presence:{user_id}:{process}"


def _seen_key(user_id: int) -> str:
    return f"presence:seen:{user_id}"


def ttl() -> float:
    return float(settings.PRESENCE_TTL_SECONDS)


class ProcessPresence:
    """What one server process writes: its users' keys, refreshed by its hub."""

    def __init__(self) -> None:
        self.process = uuid.uuid4().hex[:16]

    def beat(self, user_ids: Iterable[int], now: float | None = None) -> None:
        """Mark these users online from this process for another TTL (one round trip for all,
        plus one for the process list)."""
        now = time.time() if now is None else now
        users = list(user_ids)
        self._list_self(now)
        if users:
            cache.set_many({_key(u, self.process): now for u in users}, timeout=ttl())
            cache.set_many({_seen_key(u): now for u in users}, timeout=SEEN_TTL)

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


def presence_of(user_ids: Iterable[int], now: float | None = None) -> dict[int, dict[str, Any]]:
    """``{user_id: {"state": "online" | "offline", "last_seen": epoch seconds | None}}``.
    Callers decide who may see whom (``rooms.selectors``)."""
    now = time.time() if now is None else now
    users = sorted(set(user_ids))
    procs: dict[str, float] = cache.get(PROCS_KEY) or {}
    live = [p for p, expires in procs.items() if expires > now]
    keys = [_key(u, p) for u in users for p in live]
    found = cache.get_many(keys) if keys else {}
    seen = cache.get_many([_seen_key(u) for u in users]) if users else {}
    online = {int(key.split(":")[1]) for key, at in found.items() if now - at < ttl()}
    return {
        u: {"state": "online" if u in online else "offline", "last_seen": seen.get(_seen_key(u))}
        for u in users
    }
