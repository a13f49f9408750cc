"""Failed-login throttling, per client IP and per username, shared by web and API log-in.

Counters live in the cache (Redis in production, so every process sees the same counts).
Only failures count; a success clears the username's counter.
"""

from __future__ import annotations

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest

from accounts.exceptions import LoginThrottled


def client_ip(request: HttpRequest) -> str:
    # Behind the compose proxy REMOTE_ADDR is the proxy; it sets X-Real-IP from the peer.
    if settings.DEBUG is False and (real := request.META.get("HTTP_X_REAL_IP")):
        return real
    return request.META.get("REMOTE_ADDR", "unknown")


def _keys(ip: str, username: str) -> tuple[str, str]:
    return f"login-fail:ip:{ip}", f"login-fail:user:{(username or '').strip().lower()}"


def login_throttle_check(*, ip: str, username: str) -> None:
    """Raise LoginThrottled when either counter is at the limit."""
    limit = settings.LOGIN_THROTTLE_ATTEMPTS
    counts = cache.get_many(_keys(ip, username))
    if any(count >= limit for count in counts.values()):
        raise LoginThrottled(retry_after=settings.LOGIN_THROTTLE_WINDOW)


def login_failed(*, ip: str, username: str) -> None:
    for key in _keys(ip, username):
        # add() starts the window; incr() keeps its expiry.
        if not cache.add(key, 1, timeout=settings.LOGIN_THROTTLE_WINDOW):
            try:
                cache.incr(key)
            except ValueError:  # expired between add and incr
                cache.add(key, 1, timeout=settings.LOGIN_THROTTLE_WINDOW)


def login_succeeded(*, username: str) -> None:
    cache.delete(_keys("", username)[1])
