"""The event log: what live delivery and catch-up are made of.

Every change a client shows is recorded as an ``Event`` in the same transaction as the change
itself. ``Event.seq`` only grows, and (see ``chatsite.realtime.events``) events become visible
and are published in ``seq`` order, so a client that has seen ``seq = n`` has seen every event
``<= n`` of its rooms. Ephemeral kinds (typing, presence) are never stored.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Event(models.Model):
    """One stored change, as clients receive it: ``{"type": type, "seq": seq, **payload}``."""

    seq = models.BigAutoField(primary_key=True)
    # The stream: the room whose members hear it. An id, not a foreign key: this layer is below
    # the rooms app, and the log outlives nothing it refers to (rooms are archived, not deleted).
    room_id = models.BigIntegerField()
    type = models.CharField(max_length=32)
    # The user a membership event is about; lets catch-up tell them of a room they left.
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # The thing the event is about (a message id for message kinds), so that every stored copy
    # of it can be found again, e.g. to redact a deleted message from the log.
    object_id = models.BigIntegerField(null=True, blank=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [
            models.Index(fields=["room_id", "seq"], name="realtime_event_room_seq"),
            models.Index(fields=["subject", "seq"], name="realtime_event_subject_seq"),
            models.Index(
                fields=["object_id"],
                name="realtime_event_object",
                condition=models.Q(object_id__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.type} in {self.room_id}"
