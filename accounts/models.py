"""Users and WebSocket tickets."""

from __future__ import annotations

import re

from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

USERNAME_PATTERN = r"^[A-Za-z0-9_.-]{3,32}$"
username_validator = RegexValidator(
    USERNAME_PATTERN,
    "Use 3–32 characters: letters, digits, underscore, dot or hyphen.",
    code="invalid_username",
)


_USERNAME = re.compile(USERNAME_PATTERN)


def canonical_username(username: object) -> str:
    """The one normalisation of a username typed at log-in, for the lookup and its throttling.

    Usernames are ASCII, unique regardless of case: a well-formed one is lower-cased in ASCII.
    Anything else can name no account; it is kept (case-folded) only so that it gets a
    throttling key of its own. No Unicode case mapping applies, so look-alikes such as
    ``ſam`` (long s) or ``\u212a`` (Kelvin sign), which upper-case to ASCII, name no account.
    """
    text = username.strip() if isinstance(username, str) else ""
    if _USERNAME.fullmatch(text):
        return text.lower()
    return "~" + text.casefold()


def initials_of(shown_name: str) -> str:
    """Up to two letters for the default picture: of the first two words of the shown name."""
    words = [w for w in shown_name.replace("_", " ").replace(".", " ").replace("-", " ").split() if w]
    return "".join(w[0] for w in words[:2]).upper() or "?"


def avatar_colour_of(user_id: int | None) -> int:
    """Which of the default pictures' colours (0–7) is this person's, the same everywhere."""
    return (user_id or 0) % 8


def avatar_url_of(stored_name: str | None) -> str:
    """Where a stored picture is served (through Parley, from any storage), or "" for none."""
    return f"/{stored_name}" if stored_name else ""


class ParleyUserManager(UserManager["User"]):
    def get_by_natural_key(self, username: str | None) -> User:
        # Usernames are unique regardless of case, so log-in is case-insensitive too, with
        # exactly the normalisation throttling uses (served by the unique LOWER(username) index).
        key = canonical_username(username)
        if key.startswith("~"):
            raise self.model.DoesNotExist
        return self.alias(username_lower=Lower("username")).get(username_lower=key)


class User(AbstractUser):
    """A Parley account. ``username`` is unique case-insensitively (database-enforced)."""

    class Theme(models.TextChoices):
        SYSTEM = "system", "Follow system"
        LIGHT = "light", "Light"
        DARK = "dark", "Dark"

    class Clock(models.TextChoices):
        AUTO = "auto", "As my browser shows it"
        H12 = "12", "12-hour (2:05 PM)"
        H24 = "24", "24-hour (14:05)"

    username = models.CharField(
        max_length=32,
        unique=True,
        validators=[username_validator],
        help_text="3–32 characters: letters, digits, _ . -",
        error_messages={"unique": "That username is taken."},
    )
    email = models.EmailField(blank=True)
    display_name = models.CharField(max_length=64, blank=True)
    last_seen = models.DateTimeField(null=True, blank=True)
    theme = models.CharField(max_length=8, choices=Theme.choices, default=Theme.SYSTEM)
    # An IANA zone ("Europe/Paris") times are shown in; empty: the browser's own.
    time_zone = models.CharField(max_length=64, blank=True)
    clock = models.CharField(max_length=4, choices=Clock.choices, default=Clock.AUTO)
    # The stored picture's name in the default storage ("avatars/<id>/<token>.webp"), or "".
    avatar = models.CharField(max_length=200, blank=True, editable=False)
    # Others see this person offline, with last_seen frozen at the moment they chose it.
    appear_offline = models.BooleanField(default=False)
    # Others see when this person has read their messages ("seen"); off: they never do, and this
    # person still keeps their own unread counts.
    send_read_receipts = models.BooleanField(default=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Muted site-wide by a site moderator (the admin): no posts or reactions anywhere until then.
    muted_until = models.DateTimeField(null=True, blank=True)
    mute_reason = models.CharField(max_length=500, blank=True)

    objects = ParleyUserManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
        ]

    @property
    def shown_name(self) -> str:
        return self.display_name or self.username

    @property
    def initials(self) -> str:
        return initials_of(self.shown_name)

    @property
    def avatar_colour(self) -> int:
        return avatar_colour_of(self.pk)

    @property
    def avatar_url(self) -> str:
        return avatar_url_of(self.avatar)

    def __str__(self) -> str:
        return self.username


class WsTicket(models.Model):
    """A single-use, short-lived credential for opening a WebSocket.

    Only the SHA-256 of the ticket is stored. Kept in the database (not process memory) so a
    ticket issued by one server process is redeemable on any other.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"ticket for {self.user_id} until {self.expires_at:%H:%M:%S}"


class UserBlock(models.Model):
    """``user`` has blocked ``blocked`` for themselves: the blocked user's messages collapse on
    ``user``'s pages, and the two have no direct conversation (none starts; in an existing one,
    the blocked user's sends are refused). Nobody else is affected, and nobody is told."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="blocks")
    blocked = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "blocked"], name="accounts_userblock_once"),
            models.CheckConstraint(
                condition=~models.Q(user=models.F("blocked")), name="accounts_userblock_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} blocked {self.blocked_id}"


class ModerationAction(models.TextChoices):
    MESSAGE_DELETE = "message.delete", "Deleted a message"
    MESSAGES_PURGE = "messages.purge", "Purged old messages (retention)"
    MEMBER_REMOVE = "member.remove", "Removed a member"
    MEMBER_MUTE = "member.mute", "Muted a member"
    MEMBER_UNMUTE = "member.unmute", "Unmuted a member"
    USER_MUTE = "user.mute", "Muted an account site-wide"
    REPORT_DISMISS = "report.dismiss", "Dismissed a report"
    ROLE_CHANGE = "member.role", "Changed a role"
    OWNER_TRANSFER = "room.transfer", "Transferred ownership"
    ROOM_READ_ONLY = "room.read_only", "Made a room read-only"
    ROOM_WRITABLE = "room.writable", "Opened a room to everyone's posts"
    ROOM_ARCHIVE = "room.archive", "Archived a room"
    ROOM_UNARCHIVE = "room.unarchive", "Unarchived a room"
    USER_ACTIVATE = "user.activate", "Activated an account"
    USER_DEACTIVATE = "user.deactivate", "Deactivated an account"


class ModerationInterface(models.TextChoices):
    WEB = "web", "Web page"
    API = "api", "REST API"
    WEBSOCKET = "websocket", "WebSocket"
    ADMIN = "admin", "Django admin"
    COMMAND = "command", "Management command"


class ModerationLogEntry(models.Model):
    """One moderation action: who did what, to whom or which message, where, when, why.

    Append-only: written by the services that act (``accounts.services.moderation_record``),
    in the action's own transaction, and never changed or deleted (``save`` refuses an update;
    the admin shows it read-only). Here, at the bottom of the apps, so every app can write it:
    rooms and messages are named by id (and name, in ``detail``), not by foreign key, so the log
    outlives them."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=24, choices=ModerationAction.choices)
    target_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="moderation_received"
    )
    room_id = models.BigIntegerField(null=True, blank=True)
    message_id = models.BigIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    interface = models.CharField(max_length=12, choices=ModerationInterface.choices)
    # What the action set (a role, a mute's end, the room's name at the time…).
    detail = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["room_id", "-id"], name="accounts_modlog_room")]
        verbose_name = "moderation log entry"
        verbose_name_plural = "moderation log"

    def __str__(self) -> str:
        return f"{self.get_action_display()} by {self.actor_id} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("The moderation log is append-only.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]
