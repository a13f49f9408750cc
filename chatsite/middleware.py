"""Site-wide HTTP middleware."""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable

from django.core.exceptions import DisallowedHost
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django.views.defaults import page_not_found

# No inline scripts anywhere (htmx and our JS are files under /static/). Inline *styles* are
# allowed because htmx's indicator CSS and Swagger UI inject them; they cannot run code.
# Images come from this origin only (data:/blob: for previews the page makes itself); the page
# talks to this origin only, its WebSocket included.
_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "connect-src {connect}",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    "frame-ancestors 'none'",
)


def content_security_policy(request: HttpRequest) -> str:
    # 'self' does not cover ws(s): in every browser still in use, so the page's own socket
    # origin is named: this host, with the WebSocket scheme matching the page's.
    connect = "'self'"
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    if host:
        connect += f" {'wss' if request.is_secure() else 'ws'}://{host}"
    return "; ".join(_POLICY).format(connect=connect)


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(request))
        return response


class NotFoundPageMiddleware:
    """A page that is not there gets the site's own 404 page (templates/404.html), in DEBUG too.

    Django shows its technical 404 page (URL patterns, settings) whenever DEBUG is on; a missing
    room is an ordinary answer, not a bug to debug, so it gets the page a user sees in production.
    Paths no route matches reach this as well, through the last URL pattern (chatsite.urls).
    The API answers its own JSON 404 (chatsite.api_errors) and is left alone.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Http404) and not request.path.startswith("/api/"):
            return page_not_found(request, exception)
        return None


class UserTimeZoneMiddleware:
    """Dates the server renders (a room's start, the admin) in the logged-in user's chosen zone
    (``User.time_zone``; without one, the site's). Message times are formatted on the page, in
    the same zone (static/js/chat.js)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        zone = getattr(getattr(request, "user", None), "time_zone", "")
        try:
            timezone.activate(zoneinfo.ZoneInfo(zone)) if zone else timezone.deactivate()
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()
