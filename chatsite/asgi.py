"""ASGI entry point: HTTP through Django, WebSockets through Channels at ``/ws/``."""

import gc
import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatsite.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models.
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import get_resolver, path  # noqa: E402

from accounts.ws_auth import WebSocketAuthMiddleware  # noqa: E402
from messaging.consumers import ChatConsumer  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
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
