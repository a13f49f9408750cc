"""DRF exception handler: domain errors become the same JSON shape as DRF's own errors."""

from __future__ import annotations

from typing import Any

from rest_framework import status as http
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from chatsite.exceptions import DomainError, RateLimited


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        if exc.field:
            data: dict[str, Any] = {exc.field: [exc.detail]}
        else:
            data = {"detail": exc.detail, "code": exc.code}
        response = Response(data, status=exc.status)
        if isinstance(exc, RateLimited) and exc.retry_after:
            response["Retry-After"] = str(exc.retry_after)
        return response
    response = drf_exception_handler(exc, context)
    if response is not None and response.status_code == http.HTTP_404_NOT_FOUND:
        # One body for "missing" and "not yours", whatever raised it.
        response.data = {"detail": "Not found.", "code": "not_found"}
    return response
