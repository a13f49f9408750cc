"""The site's own pages that belong to no app: the API's front door, the health checks and the
last-resort 404."""

from __future__ import annotations

import logging
from typing import NoReturn

import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)
READY_TIMEOUT = 2.0  # seconds each dependency gets to answer /readyz


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
