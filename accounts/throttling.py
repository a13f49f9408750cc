"""Throttling of log-ins, registrations and WebSocket tickets, shared by web and API.

Counters are sliding windows in the shared cache (``chatsite.ratelimit``), so every process
and both interfaces draw on the same budgets.

Log-in failures are counted three ways, chosen so an attacker is slowed without being handed a
lockout of the victim:

* per **username and client IP** (``LOGIN_THROTTLE_ATTEMPTS``, default 10 per 5 min): guessing
  one account's password from one place;
* per **client IP** (``LOGIN_THROTTLE_IP_ATTEMPTS``, default 30): spraying many accounts from one
  place;
* per **username** from anywhere (``LOGIN_THROTTLE_USER_CEILING``, default 100): a distributed
  guess at one account. This ceiling is what could lock the owner out, so it does not apply to a
  browser that has logged in to that account before: a successful web log-in leaves a signed
  *device cookie* naming the account (the OWASP "device cookies" scheme), and attempts that
  present it are held only to the first two limits.

A successful log-in clears that username-and-IP counter. The username in every key is the one
the log-in looks up (``User.canonical_username``), so look-alike spellings share one budget.
"""

from __future__ import annotations

import hashlib
import ipaddress
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from accounts.exceptions import (
    LoginThrottled,
    PasswordResetThrottled,
    RegistrationThrottled,
    TicketsThrottled,
)
from accounts.models import canonical_username
from chatsite import ratelimit

DEVICE_COOKIE = "parley_device"
_DEVICE_SALT = "parley.login-device"
DEVICE_COOKIE_AGE = 180 * 24 * 3600


@lru_cache(maxsize=8)
def _networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in proxies)


def _is_trusted_proxy(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """The address of whoever sent the request.

    Forwarded headers are believed only when the peer itself is a configured proxy
    (``TRUSTED_PROXIES``, empty by default): then the client is the right-most address of
    ``X-Forwarded-For`` that is not one of our proxies. From anyone else they are ignored, so a
    client cannot pick a new address per attempt.
    """
    peer = request.META.get("REMOTE_ADDR", "") or "unknown"
    if not _is_trusted_proxy(peer):
        return peer
    forwarded = [
        hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()
    ]
    for hop in reversed(forwarded):
        if not _is_trusted_proxy(hop):
            return hop
    return request.META.get("HTTP_X_REAL_IP", "").strip() or peer


def _pair_key(ip: str, username: str) -> str:
    return f"login:pair:{canonical_username(username)}:{ip}"


def _user_key(username: str) -> str:
    return f"login:user:{canonical_username(username)}"


def _ip_key(ip: str) -> str:
    return f"login:ip:{ip}"


def known_device(request: HttpRequest, username: str) -> bool:
    """True when the request carries this account's device cookie (a past successful log-in)."""
    value = request.COOKIES.get(DEVICE_COOKIE)
    if not value:
        return False
    try:
        named = signing.loads(value, salt=_DEVICE_SALT, max_age=DEVICE_COOKIE_AGE)
    except signing.BadSignature:
        return False
    return named == canonical_username(username)


def login_throttle_check(*, ip: str, username: str, known_device: bool = False) -> None:
    """Raise LoginThrottled when any budget that applies is used up."""
    window = settings.LOGIN_THROTTLE_WINDOW
    over = (
        ratelimit.usage(_pair_key(ip, username), window=window) >= settings.LOGIN_THROTTLE_ATTEMPTS
        or ratelimit.usage(_ip_key(ip), window=window) >= settings.LOGIN_THROTTLE_IP_ATTEMPTS
        or (
            not known_device
            and ratelimit.usage(_user_key(username), window=window) >= settings.LOGIN_THROTTLE_USER_CEILING
        )
    )
    if over:
        raise LoginThrottled(retry_after=window)


def login_failed(*, ip: str, username: str) -> None:
    window = settings.LOGIN_THROTTLE_WINDOW
    for key in (_pair_key(ip, username), _ip_key(ip), _user_key(username)):
        ratelimit.record(key, window=window)


def login_succeeded(*, ip: str, username: str) -> None:
    ratelimit.clear(_pair_key(ip, username), window=settings.LOGIN_THROTTLE_WINDOW)


def remember_device(response: HttpResponse, username: str) -> None:
    response.set_cookie(
        DEVICE_COOKIE,
        signing.dumps(canonical_username(username), salt=_DEVICE_SALT),
        max_age=DEVICE_COOKIE_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def registration_take(*, ip: str) -> None:
    """Count a registration attempt from ``ip``; raise RegistrationThrottled past the budget."""
    window = settings.REGISTER_RATE_WINDOW
    if not ratelimit.take(f"register:{ip}", limit=settings.REGISTER_RATE_LIMIT, window=window):
        raise RegistrationThrottled(retry_after=window)


def password_reset_take(*, ip: str, email: str) -> bool:
    """Count a password-reset request; say whether a link may be sent to ``email``.

    Past the budget of the client's address this raises PasswordResetThrottled, which tells
    nothing of the address asked about. Past the budget of the email address asked about (known
    or not), the answer is False: the caller sends nothing but answers exactly as when it sends,
    so nobody can flood an inbox, nor learn from a refusal whether an account has that address.
    """
    window = settings.PASSWORD_RESET_WINDOW
    if not ratelimit.take(f"reset:ip:{ip}", limit=settings.PASSWORD_RESET_IP_LIMIT, window=window):
        raise PasswordResetThrottled(retry_after=window)
    digest = hashlib.sha256(email.strip().casefold().encode()).hexdigest()
    return bool(
        ratelimit.take(f"reset:email:{digest}", limit=settings.PASSWORD_RESET_EMAIL_LIMIT, window=window)
    )


def ticket_take(*, user_id: int) -> None:
    """Count a WebSocket ticket for the user; raise TicketsThrottled past the budget."""
    window = settings.WS_TICKET_RATE_WINDOW
    if not ratelimit.take(f"ws-ticket:{user_id}", limit=settings.WS_TICKET_RATE_LIMIT, window=window):
        raise TicketsThrottled(retry_after=window)
