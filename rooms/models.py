"""Rooms (public, private, direct) and memberships."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Room(models.Model):
    class Kind(models.TextChoices):
        PUBLIC = "public", "Public"
        PRIVATE = "private", "Private"
        DIRECT = "direct", "Direct"

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=100, unique=True)
    description = models.CharField(max_length=500, blank=True)
    # One line shown under the name: what the room is talking about now.
    topic = models.CharField(max_length=250, blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.PUBLIC)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Sorted participant ids ("3,8,21") of a direct room: the database enforces one direct room
    # per set of participants, so get-or-create cannot race into two.
    direct_key = models.CharField(max_length=200, null=True, blank=True, unique=True, editable=False)
    # Ordering of sidebars ("most recent activity first"); maintained by message_send.
    last_activity_at = models.DateTimeField(null=True, blank=True)
    # Id of the room's newest message (0: none yet), maintained with last_activity_at: where a new
    # member's read pointer starts, and how far a read pointer may go.
    last_message_id = models.BigIntegerField(default=0, editable=False)
    # New accounts join the site's default rooms (public ones only: set by room_set_default).
    is_default = models.BooleanField(default=False)
    # A group conversation's members gave it a name: it is called that, not after its people.
    named = models.BooleanField(default=False)
    # Announcements: only owners and admins post (and react).
    read_only = models.BooleanField(default=False)
    # An archived room keeps its history for its members, and nobody posts or reacts in it.
    archived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="direct", direct_key__isnull=False)
                | (~Q(kind="direct") & Q(direct_key__isnull=True)),
                name="rooms_room_direct_key_iff_direct",
            ),
        ]
        indexes = [models.Index(fields=["kind", "name"], name="rooms_room_kind_name")]

    def __str__(self) -> str:
        return self.name

    @property
    def is_direct(self) -> bool:
        return self.kind == self.Kind.DIRECT

    @property
    def is_group(self) -> bool:
        """A direct conversation of three or more people (when started), where people can be added,
        can leave and can name it. A one-to-one's key is its two ids ("3,8"); a group's is its
        ids when started, and ``group:<id>`` once its people have changed."""
        return self.is_direct and (self.direct_key or "").count(",") != 1


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        ADMIN = "admin", "Admin"
        MEMBER = "member", "Member"

    class Notify(models.TextChoices):
        ALL = "all", "All messages"
        MENTIONS = "mentions", "Mentions only"
        MUTED = "muted", "Muted"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=8, choices=Role.choices, default=Role.MEMBER)
    joined_at = models.DateTimeField(auto_now_add=True)
    # How far the member has read: every message of the room with an id up to this one. Only
    # grows (messaging.reads.read_mark); a member starts at the room's newest message.
    last_read_message_id = models.BigIntegerField(default=0)
    # How far the room's messages have reached a socket of the member (receipts: "delivered").
    # Only grows, and reading implies delivery: the effective pointer is the larger of the two.
    # Advanced by the member's client acknowledging what arrived (messaging.receipts), never
    # by the hub's fan-out.
    last_delivered_message_id = models.BigIntegerField(default=0)
    # What the member is notified of (browser notifications now, web push later): every message,
    # mentions only (in a DM every message is for the member, so: all), or nothing — a muted
    # room still counts unread, quietly.
    notify = models.CharField(max_length=8, choices=Notify.choices, default=Notify.MENTIONS)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "room"], name="rooms_membership_user_room_unique")
        ]
        indexes = [models.Index(fields=["room", "user"], name="rooms_membership_room_user")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.room_id} ({self.role})"

    @property
    def can_manage(self) -> bool:
        return self.role in (self.Role.OWNER, self.Role.ADMIN)


class RoomMute(models.Model):
    """A member who may read a room but not post, react or edit in it until ``until``.

    Kept apart from the membership, so leaving and rejoining a public room does not lift it."""

    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="mutes")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="room_mutes")
    until = models.DateTimeField()
    reason = models.CharField(max_length=500, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["room", "user"], name="rooms_roommute_room_user")]

    def __str__(self) -> str:
        return f"{self.user_id} muted in {self.room_id} until {self.until:%Y-%m-%d %H:%M}"
