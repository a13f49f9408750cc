"""API errors: what the REST API answers when a request fails, and how the schema documents it.

Every error body is ``{"detail": "...", "code": "..."}``: a message for people and a code for
programs. Domain errors bring their own ``code``; DRF's own errors get theirs
(``not_authenticated``, ``parse_error``, ...). When the request's input is invalid the body also
has ``fields``: the messages per field, in DRF's validation shape (``non_field_errors`` for the
body as a whole; a list field's messages are keyed by item index), and ``detail`` repeats the
first of them; ``code`` is the domain's (e.g. ``invalid_text``) or DRF's for that first message
(``required``, ``max_length``, ...).

``exception_handler`` produces them; ``document_errors`` (a drf-spectacular postprocessing hook)
adds them to every operation where they can occur, derived from how its view is configured:

- 400 when the operation takes a request body, or query parameters other than the page ones
  (views validate theirs with a serializer; a bad page number is a 404);
- 401 when the view authenticates requests (also when it allows anonymous ones: a bad token is
  still refused);
- 403 on unsafe methods of views that accept a session (CSRF), which is also where the domain's
  own ``PermissionDenied`` arises;
- 404 when the path names something (a room, a user), or the list is paginated (a page past the end);
- 503 everywhere: a service the request needs did not answer (``chatsite.views.server_error``).

Anything else a view answers (429 from a rate limit, 401 from a view that checks credentials
itself) it declares with ``extend_schema(responses={..., **errors(429)})``; the hook gives every
error status the same documented shape, once, in ``components/responses``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import OpenApiResponse
from rest_framework import status as http
from rest_framework.authentication import SessionAuthentication
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.permissions import SAFE_METHODS
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from chatsite.exceptions import DomainError, RateLimited


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, DomainError):
        data: dict[str, Any] = {"detail": exc.detail, "code": exc.code}
        if exc.field:
            data["fields"] = {exc.field: [exc.detail]}
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
    elif isinstance(exc, ValidationError):
        fields = response.data if isinstance(response.data, dict) else {"non_field_errors": response.data}
        detail, code = _first(fields, exc.get_codes())
        response.data = {"detail": detail, "code": code, "fields": fields}
    elif isinstance(response.data, dict) and "detail" in response.data and "code" not in response.data:
        response.data["code"] = _code(exc)
    return response


def _code(exc: Exception) -> str:
    codes = exc.get_codes() if isinstance(exc, APIException) else None
    return codes if isinstance(codes, str) else getattr(exc, "default_code", "error")


def _first(messages: Any, codes: Any, path: str = "") -> tuple[str, str]:
    """The first message of a validation error, named by its field (``body: This field is
    required.``), and its code; nested serializers and list items name their path."""
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = "" if key == "non_field_errors" else f"{path}.{key}" if path else str(key)
            return _first(value, codes.get(key) if isinstance(codes, dict) else codes, name)
    if isinstance(messages, list) and messages:
        first_code = codes[0] if isinstance(codes, list) and codes else codes
        if isinstance(messages[0], (dict, list)):
            return _first(messages[0], first_code, f"{path}.0" if path else "0")
        return _first(messages[0], first_code, path)
    text = str(messages) or "Invalid input."
    code = codes if isinstance(codes, str) else "invalid"
    return (f"{path}: {text}" if path else text), code


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
    """Any other ``/api/.../`` URL, e.g. ``/api/rooms/abc/``: the API's 404, not an HTML page."""
    return JsonResponse(
        {"detail": "Not found.", "code": "not_found"},
        status=http.HTTP_404_NOT_FOUND,
        json_dumps_params={"separators": (",", ":")},  # byte for byte what DRF's renderer writes
    )


# --- OpenAPI ------------------------------------------------------------------------------------

_ERROR = {"$ref": "#/components/schemas/Error"}
SCHEMAS = {
    "Error": {
        "type": "object",
        "description": "An error about the request as a whole.",
        "properties": {
            "detail": {"type": "string", "description": "For people."},
            "code": {"type": "string", "description": "For programs, e.g. `not_found`, `rate_limited`."},
        },
        "required": ["detail", "code"],
    },
    "InvalidInput": {
        "type": "object",
        "description": "Invalid input: the first message, its code, and every message by field.",
        "properties": {
            "detail": {"type": "string", "description": "The first message, named by its field."},
            "code": {"type": "string", "description": "For programs, e.g. `required`, `invalid_text`."},
            "fields": {
                "type": "object",
                "description": "Messages per field (`non_field_errors`: the body as a whole); a list "
                "field's are keyed by item index.",
                "additionalProperties": {
                    "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "object"}],
                },
            },
        },
        "required": ["detail", "code", "fields"],
    },
}


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


# status → (component name, response object)
RESPONSES: dict[int, tuple[str, dict[str, Any]]] = {
    400: (
        "BadRequest",
        {
            "description": "The request is invalid: per-field messages, or an error about it as a whole.",
            "content": _json({"anyOf": [{"$ref": "#/components/schemas/InvalidInput"}, _ERROR]}),
        },
    ),
    401: (
        "Unauthenticated",
        {"description": "No valid credentials (or a bad or expired token).", "content": _json(_ERROR)},
    ),
    403: (
        "Forbidden",
        {
            "description": "Not allowed (or a session request without its CSRF token).",
            "content": _json(_ERROR),
        },
    ),
    404: (
        "NotFound",
        {
            "description": "No such thing, or one you may not see: the same answer.",
            "content": _json(_ERROR),
        },
    ),
    409: (
        "Conflict",
        {
            "description": "The thing is not in a state that allows this (e.g. the message was deleted).",
            "content": _json(_ERROR),
        },
    ),
    413: (
        "TooLarge",
        {"description": "The file is larger than the server accepts.", "content": _json(_ERROR)},
    ),
    429: (
        "RateLimited",
        {
            "description": "Too many requests.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "required": True,
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "content": _json(_ERROR),
        },
    ),
    503: (
        "Unavailable",
        {
            "description": "A service Parley needs (the database, Redis) did not answer; nothing was "
            "half-saved, and the request may be sent again.",
            "headers": {
                "Retry-After": {
                    "description": "Seconds to wait before trying again.",
                    "schema": {"type": "integer", "minimum": 1},
                }
            },
            "content": _json(_ERROR),
        },
    ),
}


def errors(*statuses: int) -> dict[int, OpenApiResponse]:
    """Error statuses a view answers beyond those ``document_errors`` derives, for ``extend_schema``."""
    return {status: OpenApiResponse(description=RESPONSES[status][1]["description"]) for status in statuses}


def _derived_statuses(view: type, method: str, operation: dict[str, Any]) -> set[int]:
    parameters = operation.get("parameters", [])
    paginator = getattr(view, "pagination_class", None)
    page_params = {
        getattr(paginator, "page_query_param", None),
        getattr(paginator, "page_size_query_param", None),
    }
    statuses = {503}  # every operation needs the database or Redis (chatsite.views.server_error)
    if "requestBody" in operation or any(
        p["in"] == "query" and p["name"] not in page_params for p in parameters
    ):
        statuses.add(400)
    authenticators = getattr(view, "authentication_classes", ())
    if authenticators:
        statuses.add(401)
        if method not in SAFE_METHODS and any(issubclass(a, SessionAuthentication) for a in authenticators):
            statuses.add(403)
    if any(p["in"] == "path" for p in parameters) or (method == "GET" and paginator):
        statuses.add(404)
    return statuses


def document_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """drf-spectacular postprocessing hook: the error responses of every operation (see above)."""
    for path, _, method, callback in generator.endpoints:
        operation = result["paths"].get(path, {}).get(method.lower())
        if operation is None:
            continue
        responses = operation["responses"]
        declared = {int(code) for code in responses if code.isdigit() and int(code) in RESPONSES}
        for status in declared | _derived_statuses(callback.cls, method, operation):
            responses[str(status)] = {"$ref": f"#/components/responses/{RESPONSES[status][0]}"}
        operation["responses"] = dict(sorted(responses.items()))
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(SCHEMAS)
    components["responses"] = dict(RESPONSES.values())
    return result
