"""The one WebSocket per client, at /ws/. Thin: authenticate, validate frames, call services."""

from __future__ import annotations

import json

from channels.generic.websocket import AsyncWebsocketConsumer


class ChatConsumer(AsyncWebsocketConsumer):
    async def connect(self) -> None:
        user = self.scope.get("user")
        if user is None or not user.is_authenticated:
            await self.close(code=4401)
            return
        await self.accept()
        await self.send(
            text_data=json.dumps({"type": "hello", "user": {"id": user.id, "username": user.username}})
        )
