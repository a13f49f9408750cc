"""The site's own pages that belong to no app: the API's front door and the last-resort 404."""

from __future__ import annotations

from typing import NoReturn

from django.http import Http404, HttpRequest, JsonResponse


def api_root(request: HttpRequest) -> JsonResponse:
    """``/api/``: where the API is described."""
    return JsonResponse(
        {
            "detail": "Parley's REST API. Its operations are described at docs and schema.",
            "docs": request.build_absolute_uri("/api/docs/"),
            "redoc": request.build_absolute_uri("/api/redoc/"),
            "schema": request.build_absolute_uri("/api/schema/"),
        }
    )


def page_not_found(request: HttpRequest) -> NoReturn:
    """Any other path ending in "/": the site's 404 page (chatsite.middleware.NotFoundPageMiddleware
    renders it, in DEBUG too). Only such paths, so APPEND_SLASH still redirects "/rooms/new"."""
    raise Http404()
