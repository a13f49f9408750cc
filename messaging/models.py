"""Messages. Their changes are recorded in the event log (``chatsite.realtime``)."""

from __future__ import annotations

import uuid

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
    # What its attachments are (messaging.attachments.attachment_summary), kept with the row like
    # reactions; the files themselves are Attachment rows. A database default for bulk writes.
    attachments = models.JSONField(default=list, db_default=[], blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sender", "client_id"], name="messaging_message_sender_client_id"
            ),
            # Only a deleted message (a tombstone), or one carrying files, has no body.
            models.CheckConstraint(
                condition=~Q(body="") | Q(deleted_at__isnull=False) | ~Q(attachments=[]),
                name="messaging_message_body_not_empty",
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


class MessageReport(models.Model):
    """A member's report of a message to the site's moderators (the admin's report queue).

    One per reporter and message (reporting again changes nothing). Only moderators see it:
    the reported user is never told who reported them."""

    class Reason(models.TextChoices):
        SPAM = "spam", "Spam"
        HARASSMENT = "harassment", "Harassment"
        INAPPROPRIATE = "inappropriate", "Inappropriate"
        OTHER = "other", "Other"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DISMISSED = "dismissed", "Dismissed"
        ACTIONED = "actioned", "Acted on"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="reports")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=16, choices=Reason.choices)
    note = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["message", "reporter"], name="messaging_report_once_per_reporter")
        ]
        indexes = [models.Index(fields=["status", "-id"], name="messaging_report_queue")]
        permissions = [("moderate_messagereport", "Can act on reports (dismiss, delete, mute, ban)")]

    def __str__(self) -> str:
        return f"report of #{self.message_id} ({self.reason})"


def _attachment_path(attachment: Attachment, filename: str) -> str:
    # A random folder per upload: names never collide and can't be guessed from one another.
    return f"attachments/{attachment.room_id}/{uuid.uuid4().hex}/{filename}"


class Attachment(models.Model):
    """A file uploaded to a room, then attached to one message (``message`` is null until sent).

    Everything here is decided on the server from the file's content (messaging.uploads), never
    from its name or the Content-Type the client claimed."""

    class Kind(models.TextChoices):
        IMAGE = "image"
        FILE = "file"
        VOICE = "voice"

    id = models.BigAutoField(primary_key=True)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="attachment_rows"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    file = models.FileField(upload_to=_attachment_path, max_length=300)
    thumbnail = models.FileField(upload_to=_attachment_path, max_length=300, blank=True)
    name = models.CharField(max_length=200)  # sanitised, as shown and downloaded
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    thumb_width = models.PositiveIntegerField(null=True, blank=True)
    thumb_height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True)  # seconds (voice)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            # The abandoned-upload sweep: unattached, oldest first.
            models.Index(fields=["created_at"], name="messaging_attach_unsent", condition=Q(message=None)),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}) in {self.room_id}"
