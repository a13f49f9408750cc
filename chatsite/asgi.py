"""ASGI entry point: HTTP through Django, WebSockets through Channels at ``/ws/``, and the same
event stream as Server-Sent Events at ``/events/stream/`` (the fallback transport)."""

import gc
import os
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver, path  # noqa: E402

from accounts.ws_auth import EventStreamAuthMiddleware, WebSocketAuthMiddleware  # noqa: E402
from messaging.consumers import ChatConsumer  # noqa: E402
from messaging.event_stream import EVENT_STREAM_PATH, EventStream  # noqa: E402


class HttpRouter:
    """Django for every path but a few long-lived streams, matched exactly (no regex per request)."""

    def __init__(self, default: Any, streams: dict[str, Any]) -> None:
        self.default = default
        self.streams = streams

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        app = self.streams.get(scope["path"], self.default)
        return await app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": HttpRouter(
            django_asgi_app, {EVENT_STREAM_PATH: EventStreamAuthMiddleware(EventStream.as_asgi)}
        ),
        "websocket": WebSocketAuthMiddleware(URLRouter([path("ws/", ChatConsumer.as_asgi())])),
    }
)


def _settle_heap() -> None:
    """Load what the first requests would, then take startup's objects out of the collector's way.

    A full (generation 2) collection walks every tracked object. A server process holds a few
    hundred thousand from imports, and the first requests import more (every view module: DRF,
    drf-spectacular, ...), which triggered one full collection per process, 45-50 ms long, inside a
    request (measured by bench's history scenario). Frozen objects are never walked again.
    """
    get_resolver().url_patterns  # noqa: B018 -- imports every view module
    gc.collect()
    gc.freeze()


_settle_heap()
