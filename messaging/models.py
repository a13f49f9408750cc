"""Messages. Their changes are recorded in the event log (``chatsite.realtime``)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from rooms.models import Room


class Message(models.Model):
    id = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField()
    # Chosen by the client; makes retries idempotent (unique per sender).
    client_id = models.CharField(max_length=64)
    created_at = models.DateTimeField()
    edited_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True)
    reply_to = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="messaging_message_sender_client_id"
            ),
            models.CheckConstraint(condition=~Q(body=""), name="messaging_message_body_not_empty"),
        ]
        # History is read newest-first within a room by keyset on id.
        indexes = [models.Index(fields=["room", "id"], name="messaging_message_room_id")]

    def __str__(self) -> str:
        return f"#{self.id} in {self.room_id}"
