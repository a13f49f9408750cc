"""Peer (a): the Channels tutorial pattern, minimal.

One group for the room; every received message is ``group_send`` to it, so channels-redis
delivers one layer message per *recipient*, and each consumer ``json.dumps`` its own copy.
Stock RedisChannelLayer settings, as the tutorial has them. No auth, no persistence: it does
strictly less work than Parley. Run: ``uvicorn bench.peers.tutorial_asgi:application``.
"""

import json
import os

import django
from django.conf import settings

settings.configure(
    DEBUG=False,
    SECRET_KEY="bench-tutorial-peer",
    INSTALLED_APPS=["channels"],
    ALLOWED_HOSTS=["*"],
    CHANNEL_LAYERS={
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # Same redis-py 8 socket timeout fix as Parley (see chatsite/settings.py), or
                # idle consumers die; otherwise the tutorial's stock settings.
                "hosts": [
                    {
                        "address": os.environ.get("TUTORIAL_REDIS_URL", "redis://127.0.0.1:6379/12"),
                        "socket_timeout": 30,
                    }
                ],
                "prefix": os.environ.get("TUTORIAL_PREFIX", "tutorial") + ":tutorial",
            },
        }
    },
)
django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

ROOM_GROUP = "chat_room"


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(ROOM_GROUP, self.channel_name)
        await self.accept()
        await self.send(text_data=json.dumps({"type": "hello"}))

    async def disconnect(self, code):
        await self.channel_layer.group_discard(ROOM_GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        data = json.loads(text_data)
        message = {"room": data.get("room"), "body": data["body"], "client_id": data["client_id"]}
        await self.channel_layer.group_send(ROOM_GROUP, {"type": "chat.message", "message": message})

    async def chat_message(self, event):
        await self.send(text_data=json.dumps({"type": "message.new", "message": event["message"]}))


application = ProtocolTypeRouter({"websocket": URLRouter([path("ws/", ChatConsumer.as_asgi())])})
