"""The site's own pages that belong to no app: the API's front door, its Redoc bundle, the health
checks, the last-resort 404 and the error page of an unhandled exception."""

from __future__ import annotations

import logging
import sys
from functools import lru_cache
from pathlib import Path
from typing import NoReturn

import drf_spectacular_sidecar
import redis
from django.conf import settings
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET, require_safe
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SpectacularRedocView
from rest_framework.request import Request
from rest_framework.response import Response

from chatsite.exceptions import SERVICE_DOWN, UNAVAILABLE_DETAIL
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


RETRY_AFTER_S = 2
_LAST_RESORT = (
    '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{title} · Parley</title></head>'
    '<body><main><h1>{title}</h1><p>{explanation}</p><p><a href="/">Go to your rooms</a></p></main></body></html>'
)
_ERRORS = {
    500: ("server_error", "Something went wrong",
          "The server could not answer this request. It has been logged; try again in a moment."),
    503: ("unavailable", "Parley is briefly unavailable", UNAVAILABLE_DETAIL),
}  # fmt: skip


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: the answer to an exception no view or middleware handled. Django calls it
    inside its ``except``, so the exception is at hand: a service that did not answer gets 503 and
    ``Retry-After``. The API answers JSON in its error shape; pages get the site's error page.

    It never raises: an exception escaping here would escape the ASGI application, skipping the
    end of the request that hands its database connection back to the pool (a Redis restart
    once exhausted the pool that way, the 500 page failing for want of its static manifest)."""
    status = 503 if isinstance(sys.exception(), SERVICE_DOWN) else 500
    code, title, explanation = _ERRORS[status]
    if request.path.startswith("/api/"):
        response: HttpResponse = JsonResponse({"detail": explanation, "code": code}, status=status)
    else:
        try:  # no request: the context processors might touch what just failed
            page = loader.get_template("_error_page.html").render(
                {"title": title, "explanation": explanation}
            )
        except Exception:
            logger.exception("the %d page could not be rendered; answering the plain one", status)
            page = _LAST_RESORT.format(title=title, explanation=explanation)
        response = HttpResponse(page, status=status)
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_S)
    return response


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
