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
    # The body rendered once, at write time (safe Markdown subset, sanitised: messaging.markdown);
    # empty for rows written without it (bulk seeds of plain text), shown escaped instead.
    body_html = models.TextField(blank=True, default="")
    # Who the message mentions (user ids of members), and whether it mentions the whole room.
    mentions = models.JSONField(default=list, blank=True)
    mentions_room = models.BooleanField(default=False)
    # Kept with the row so that a page of history needs no query per message.
    reply_count = models.PositiveIntegerField(default=0)
    reactions = models.JSONField(default=list, blank=True)  # [{"emoji", "users": [ids]}], first use first

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="messaging_message_sender_client_id"
            ),
            # Only a deleted message (a tombstone) has no body.
            models.CheckConstraint(
                condition=~Q(body="") | Q(deleted_at__isnull=False), name="messaging_message_body_not_empty"
            ),
        ]
        # History is read newest-first within a room by keyset on id.
        indexes = [models.Index(fields=["room", "id"], name="messaging_message_room_id")]

    def __str__(self) -> str:
        return f"#{self.id} in {self.room_id}"


class MessageRevision(models.Model):
    """A previous version of an edited message (its body before the edit)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="revisions")
    body = models.TextField()
    # When this version was written (the message's creation or its previous edit).
    written_at = models.DateTimeField()
    replaced_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["message", "id"], name="messaging_revision_message")]

    def __str__(self) -> str:
        return f"revision of #{self.message_id} replaced {self.replaced_at:%Y-%m-%d %H:%M}"


class Reaction(models.Model):
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reaction_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    emoji = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "user", "emoji"], name="messaging_reaction_once")
        ]

    def __str__(self) -> str:
        return f"{self.emoji} by {self.user_id} on #{self.message_id}"
