"""The base of every domain error. Services raise these; interfaces translate them.

Each app's ``exceptions.py`` subclasses :class:`DomainError`, setting a machine-readable
``code`` (used verbatim in WebSocket error frames) and the HTTP ``status`` the REST layer
answers with. Services never raise HTTP errors themselves.
"""

from __future__ import annotations

import redis
from django.db import InterfaceError, OperationalError

# A service the request needed did not answer (Redis restarting, the database failing over, the
# database pool exhausted): what was asked may simply be asked again, so the answer is 503 over
# HTTP (chatsite.views.server_error) and ``unavailable`` on a socket, not a server error.
SERVICE_DOWN = (redis.ConnectionError, redis.TimeoutError, OperationalError, InterfaceError)
UNAVAILABLE_DETAIL = "A service Parley needs did not answer. Try again in a moment: nothing was half-saved."


class DomainError(Exception):
    code = "invalid"
    status = 400
    default_detail = "Invalid request."

    def __init__(self, detail: str | None = None, *, field: str | None = None) -> None:
        self.detail = detail or self.default_detail
        self.field = field
        super().__init__(self.detail)


class NotFound(DomainError):
    """Raised for things that do not exist *and* things the user may not see: same answer."""

    code = "not_found"
    status = 404
    default_detail = "Not found."


class PermissionDenied(DomainError):
    """For acting on something the user can see but may not change (e.g. a member, not admin)."""

    code = "forbidden"
    status = 403
    default_detail = "You do not have permission to do this."


class RateLimited(DomainError):
    code = "rate_limited"
    status = 429
    default_detail = "Too many requests; slow down."

    def __init__(self, detail: str | None = None, *, retry_after: int | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after
