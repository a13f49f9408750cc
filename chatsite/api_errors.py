"""API errors: what the REST API answers when a request fails.

Every error body has one of two shapes:

- ``{"detail": "...", "code": "..."}`` — about the request as a whole (not found, not allowed,
  not authenticated, rate limited, unparsable body). Domain errors bring their own ``code``;
  DRF's own errors get theirs (``not_authenticated``, ``parse_error``, ...).
- ``{"<field>": ["...", ...]}`` — DRF's validation shape (``non_field_errors`` for the body as a
  whole; a list field's errors are keyed by item index).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import status as http
from rest_framework.exceptions import APIException
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
    if response is None:
        return None
    if response.status_code == http.HTTP_404_NOT_FOUND:
        # One body for "missing" and "not yours", whatever raised it.
        response.data = {"detail": "Not found.", "code": "not_found"}
    elif isinstance(response.data, dict) and "detail" in response.data and "code" not in response.data:
        response.data["code"] = _code(exc)
    return response


def _code(exc: Exception) -> str:
    codes = exc.get_codes() if isinstance(exc, APIException) else None
    return codes if isinstance(codes, str) else getattr(exc, "default_code", "error")


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other ``/api/.../`` URL, e.g. ``/api/rooms/abc/``: the API's 404, not an HTML page."""
    return JsonResponse(
        {"detail": "Not found.", "code": "not_found"},
        status=http.HTTP_404_NOT_FOUND,
        json_dumps_params={"separators": (",", ":")},  # byte for byte what DRF's renderer writes
    )
