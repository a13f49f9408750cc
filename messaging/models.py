"""Messages and the event log.

The event log is what live delivery and catch-up are made of: every change a client shows is
recorded as an ``Event`` in the same transaction as the change itself. ``Event.seq`` only grows,
and (see ``messaging.events``) events become visible and are published in ``seq`` order, so a
client that has seen ``seq = n`` has seen every event ``<= n`` of its rooms.
"""

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


class Event(models.Model):
    """One change in a room, as clients receive it: ``{"type": type, "seq": seq, **payload}``."""

    seq = models.BigAutoField(primary_key=True)
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    type = models.CharField(max_length=32)
    # The user a membership event is about; lets catch-up tell them of a room they left.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["room", "seq"], name="messaging_event_room_seq"),
            models.Index(fields=["subject", "seq"], name="messaging_event_subject_seq"),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.type} in {self.room_id}"
