"""The site's own pages that belong to no app: the API's front door, its Redoc bundle, the health
checks and the last-resort 404."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

import drf_spectacular_sidecar
import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_safe
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework.request import Request
from rest_framework.response import Response

from chatsite.middleware import content_security_policy

logger = logging.getLogger(__name__)
READY_TIMEOUT = 2.0  # seconds each dependency gets to answer /readyz
REDOC_BUNDLE = Path(drf_spectacular_sidecar.__file__).parent / "static/drf_spectacular_sidecar/redoc/bundles"
# The one outside asset the Redoc bundle still fetches: its "API docs by Redocly" logo, from a
# CDN. With no source the image reports an error, and Redoc then leaves it out.
REDOC_OUTSIDE_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


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


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process serves requests. Touches nothing else, so a database outage does not
    make an orchestrator restart healthy app processes."""
    return HttpResponse("ok\n", content_type="text/plain")


@never_cache
@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness: the database and (when configured) Redis answer. 503 names what does not; the
    reason goes to the log, not to the caller."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except DatabaseError:
        logger.warning("readyz: the database does not answer", exc_info=True)
        checks["database"] = "unavailable"
    if settings.REDIS_URL:
        try:
            client = redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=READY_TIMEOUT, socket_connect_timeout=READY_TIMEOUT
            )
            try:
                client.ping()
            finally:
                client.close()
            checks["redis"] = "ok"
        except redis.RedisError:
            logger.warning("readyz: Redis does not answer", exc_info=True)
            checks["redis"] = "unavailable"
    ready = all(state == "ok" for state in checks.values())
    return JsonResponse({"ready": ready, **checks}, status=200 if ready else 503)


@lru_cache(maxsize=1)
def _redoc_script() -> bytes:
    script = (REDOC_BUNDLE / "redoc.standalone.js").read_text(encoding="utf-8")
    return script.replace(REDOC_OUTSIDE_LOGO, "").encode()


@require_safe
@cache_control(public=True, max_age=86400)
def redoc_script(request: HttpRequest) -> HttpResponse:
    """The vendored Redoc bundle (drf-spectacular-sidecar) without its one outside asset, so the
    API docs load nothing from outside this site."""
    return HttpResponse(_redoc_script(), content_type="text/javascript; charset=utf-8")


class RedocView(SpectacularRedocView):
    """Redoc (templates/api/redoc.html). Its search index is built in a Web Worker that the
    bundle makes from a blob: of its own code, which the site's policy (workers fall back to
    ``script-src 'self'``) would refuse; this page alone also allows such workers."""

    template_name = "api/redoc.html"

    @extend_schema(exclude=True)  # as drf-spectacular's own view: a page, not an operation
    def get(self, request: Request, *args, **kwargs) -> Response:
        response = super().get(request, *args, **kwargs)
        response["Content-Security-Policy"] = content_security_policy(request) + "; worker-src 'self' blob:"
        return response
