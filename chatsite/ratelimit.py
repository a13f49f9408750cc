"""Sliding-window budgets in the shared cache (Redis in production, so every process and every
interface draws on one budget per key).

A fixed window lets twice the limit through around its boundary (the limit just before it, the
limit again just after). Here the count of the previous window is weighed by how much of it the
sliding window still overlaps (``previous * (1 - elapsed) + current``), so a burst at a window's
end still counts at the start of the next: the "sliding window counter" of the rate-limiting
literature. A take costs one atomic increment and one read (and a decrement when it refuses).
"""

from __future__ import annotations

import math
import time

from django.core.cache import cache


def _keys(key: str, window: int, now: float) -> tuple[str, str, float]:
    index = int(now // window)
    elapsed = (now % window) / window
    return f"rl:{key}:{window}:{index}", f"rl:{key}:{window}:{index - 1}", elapsed


def _incr(key: str, count: int, window: int) -> int:
    try:
        # After a window's first hit its counter exists: the common case is one incr.
        return cache.incr(key, count)
    except ValueError:
        # Kept two windows: while current, and while it is the previous one.
        if cache.add(key, count, timeout=2 * window + 1):
            return count
        return cache.incr(key, count)  # another process opened the window between the two calls


def usage(key: str, *, window: int) -> float:
    """How much of the budget under ``key`` the last ``window`` seconds used."""
    current, previous, elapsed = _keys(key, window, time.time())
    counts = cache.get_many([current, previous])
    return counts.get(previous, 0) * (1 - elapsed) + counts.get(current, 0)


def record(key: str, *, window: int, count: int = 1) -> float:
    """Count ``count`` uses under ``key``; returns the usage including them."""
    return _record(key, window, count)[0]


def _record(key: str, window: int, count: int) -> tuple[float, str]:
    current, previous, elapsed = _keys(key, window, time.time())
    total = _incr(current, count, window)
    return (cache.get(previous) or 0) * (1 - elapsed) + total, current


def take(key: str, *, limit: int, window: int, count: int = 1) -> int:
    """Take up to ``count`` uses from ``limit`` per ``window`` seconds; returns how many fit.

    Only what fits is counted: uses are counted first (one atomic increment, so concurrent
    takers in other processes never overdraw), and the refused part is handed back."""
    used, current = _record(key, window, count)
    allowed = max(0, min(count, math.floor(limit - (used - count) + 1e-9)))
    if allowed < count:
        try:
            cache.decr(current, count - allowed)
        except ValueError:  # the window's counter expired meanwhile: nothing to hand back
            pass
    return allowed


def clear(key: str, *, window: int) -> None:
    current, previous, _ = _keys(key, window, time.time())
    cache.delete_many([current, previous])
