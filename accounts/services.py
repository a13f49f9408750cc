"""Every state change of accounts: registration, profile, passwords, tickets, presence timestamps,
deactivation and deletion."""

from __future__ import annotations

import functools
import hashlib
import secrets
import zoneinfo
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.avatars import avatar_image
from accounts.exceptions import RegistrationError, WrongPassword
from accounts.models import (
    ModerationAction,
    ModerationInterface,
    ModerationLogEntry,
    User,
    UserBlock,
    WsTicket,
    username_validator,
)
from chatsite.exceptions import DomainError, PermissionDenied
from chatsite.realtime import broadcasts, kinds
from chatsite.realtime.models import Event
from chatsite.realtime.redaction import events_forget_user
from chatsite.validation import InvalidNumber, clean_text, parse_id

DISPLAY_NAME_MAX = User._meta.get_field("display_name").max_length


def registration_errors(
    *, username: str, password: str, email: str = "", display_name: str = ""
) -> dict[str, list[str]]:
    """Every reason these would not make an account, by field (empty: they would). Writes nothing,
    so a form can show these next to its own errors, all at once."""
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    try:
        username_validator(username)
    except ValidationError as exc:
        errors["username"] = list(exc.messages)
    if "username" not in errors and User.objects.filter(username__iexact=username).exists():
        errors["username"] = ["That username is taken."]
    try:
        validate_password(password or "", user=User(username=username, email=email or ""))
    except ValidationError as exc:
        errors["password"] = list(exc.messages)
    if email:
        try:
            User._meta.get_field("email").run_validators(email)
        except ValidationError as exc:
            errors["email"] = list(exc.messages)
    try:
        clean_display_name(display_name)
    except DomainError as exc:
        errors["display_name"] = [exc.detail]
    return errors


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    """Create an account, or raise RegistrationError with field errors (nothing is written)."""
    username = (username or "").strip()
    errors = registration_errors(username=username, password=password, email=email, display_name=display_name)
    if errors:
        raise RegistrationError(errors)
    candidate = User(username=username, email=email or "", display_name=clean_display_name(display_name))
    candidate.set_password(password)
    try:
        with transaction.atomic():
            candidate.save()
    except IntegrityError:
        # Lost a race with a concurrent registration of the same name (any case).
        raise RegistrationError({"username": ["That username is taken."]}) from None
    return candidate


def _ticket_hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


def ws_ticket_issue(*, user: User) -> str:
    """Return a new single-use WebSocket ticket for ``user``, valid WS_TICKET_TTL seconds."""
    ticket = secrets.token_urlsafe(32)
    now = timezone.now()
    WsTicket.objects.create(
        key_hash=_ticket_hash(ticket),
        user=user,
        expires_at=now + timedelta(seconds=settings.WS_TICKET_TTL),
    )
    # Housekeeping that keeps the table small without a scheduler.
    WsTicket.objects.filter(expires_at__lt=now - timedelta(hours=1)).delete()
    return ticket


def ws_ticket_redeem(*, ticket: str) -> User | None:
    """Consume a ticket. Returns its active user once; None if unknown, used, or expired.

    The conditional UPDATE makes redemption atomic across processes: two sockets racing with
    one ticket cannot both win.
    """
    if not ticket or len(ticket) > 128:
        return None
    key_hash = _ticket_hash(ticket)
    now = timezone.now()
    claimed = WsTicket.objects.filter(key_hash=key_hash, used_at__isnull=True, expires_at__gt=now).update(
        used_at=now
    )
    if not claimed:
        return None
    user_id = WsTicket.objects.filter(key_hash=key_hash).values_list("user_id", flat=True).first()
    return User.objects.filter(pk=user_id, is_active=True).first()


def user_touch_last_seen(*, user_id: int) -> None:
    """The user's last socket closed: remember when (frozen while they appear offline)."""
    User.objects.filter(pk=user_id, appear_offline=False).update(last_seen=timezone.now())


def clean_display_name(value: object) -> str:
    """A display name as typed: one line, at most DISPLAY_NAME_MAX characters once trimmed.

    Empty (or white space) clears it, so the username is shown; a name made only of invisible
    characters (zero-width spaces, joiners...) is refused rather than shown as nothing.
    """
    if isinstance(value, str) and not value.strip():
        return ""
    return clean_text(
        value, label="Display name", max_length=DISPLAY_NAME_MAX, field="display_name", multiline=False
    )


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA zones a user may choose (those this system's tz database knows)."""
    return frozenset(zoneinfo.available_timezones())


def clean_time_zone(value: object) -> str:
    """An IANA zone name, or "" for the browser's own zone."""
    if value == "":
        return ""
    if not isinstance(value, str) or value not in time_zones():
        raise DomainError(
            "Choose a time zone from the list (such as Europe/Paris), or none.", field="time_zone"
        )
    return value


@transaction.atomic
def user_profile_update(
    *,
    user: User,
    display_name: str | None = None,
    email: str | None = None,
    theme: str | None = None,
    time_zone: str | None = None,
    clock: str | None = None,
    appear_offline: bool | None = None,
    send_read_receipts: bool | None = None,
) -> User:
    """Change what is given of the user's profile; every value is checked before any is stored.

    Names are rendered where they are shown, so nothing is broadcast: pages show the new name as
    they next render a message, member list or sidebar. Turning "appear offline" on or off is
    told to every server process after commit (their hubs push the person's new presence), and
    turning it on freezes ``last_seen`` at now. Turning read receipts off hides how far this
    person has read from others from then on (their own unread counts are unchanged).
    """
    changes: dict[str, object] = {}
    for name, flag in (("appear_offline", appear_offline), ("send_read_receipts", send_read_receipts)):
        if flag is not None and not isinstance(flag, bool):
            raise DomainError(f"{name} must be true or false.", field=name)
    if send_read_receipts is not None:
        changes["send_read_receipts"] = send_read_receipts
    if appear_offline is not None and appear_offline != user.appear_offline:
        changes["appear_offline"] = appear_offline
        if appear_offline:
            changes["last_seen"] = timezone.now()
        transaction.on_commit(functools.partial(broadcasts.presence_hidden, {user.pk: appear_offline}))
    if display_name is not None:
        changes["display_name"] = clean_display_name(display_name)
    if email is not None:
        changes["email"] = _clean_email(email)
    if theme is not None:
        changes["theme"] = _choice(theme, User.Theme, "Theme must be system, light or dark.", "theme")
    if time_zone is not None:
        changes["time_zone"] = clean_time_zone(time_zone)
    if clock is not None:
        changes["clock"] = _choice(clock, User.Clock, "Clock must be auto, 12 or 24.", "clock")
    for field, value in changes.items():
        setattr(user, field, value)
    if changes:
        user.save(update_fields=[*changes, "updated_at"])
    return user


@transaction.atomic
def user_avatar_set(*, user: User, upload: object) -> User:
    """Make ``upload`` the user's picture (``accounts.avatars``: checked, cropped, resized and
    stripped; InvalidAvatar otherwise, and nothing is stored). The file goes to the default
    storage (local disk or S3) under a new name; the old one is deleted after commit."""
    picture = avatar_image(upload)  # type: ignore[arg-type]
    name = default_storage.save(f"avatars/{user.pk}/{secrets.token_hex(8)}.webp", ContentFile(picture))
    _avatar_replace(user, name)
    return user


@transaction.atomic
def user_avatar_clear(*, user: User) -> User:
    """Back to the default picture (initials on a colour)."""
    _avatar_replace(user, "")
    return user


def _avatar_replace(user: User, name: str) -> None:
    old = user.avatar
    user.avatar = name
    user.save(update_fields=["avatar", "updated_at"])
    if old:
        transaction.on_commit(functools.partial(default_storage.delete, old), robust=True)


def _choice(value: object, choices: type[models.TextChoices], error: str, field: str) -> str:
    if value not in choices.values:
        raise DomainError(error, field=field)
    return str(value)


def _clean_email(value: object) -> str:
    email = clean_text(value, label="Email", max_length=254, field="email", allow_blank=True, multiline=False)
    if email:
        try:
            User._meta.get_field("email").run_validators(email)
        except ValidationError as exc:
            raise DomainError(exc.messages[0], field="email") from None
    return email


REASON_MAX = ModerationLogEntry._meta.get_field("reason").max_length


def clean_reason(value: object, *, required: bool = False) -> str:
    """A moderator's stated reason: one line of at most REASON_MAX characters (required in the
    admin, optional in rooms)."""
    return clean_text(
        "" if value is None else value,
        label="Reason",
        max_length=REASON_MAX,
        field="reason",
        allow_blank=not required,
        multiline=False,
    )


def moderation_record(
    *,
    actor: User | None,
    action: ModerationAction,
    via: str,
    target_user_id: int | None = None,
    room_id: int | None = None,
    message_id: int | None = None,
    reason: str = "",
    detail: dict | None = None,
) -> ModerationLogEntry:
    """Append one entry to the moderation log, in the caller's transaction (so an action that
    rolls back leaves no entry, and one that commits always has its entry)."""
    if via not in ModerationInterface.values:
        raise ValueError(f"unknown interface {via!r}")
    return ModerationLogEntry.objects.create(
        actor=actor,
        action=action,
        interface=via,
        target_user_id=target_user_id,
        room_id=room_id,
        message_id=message_id,
        reason=reason,
        detail=detail or {},
    )


SITE_MUTE_MAX_MINUTES = 366 * 24 * 60  # a year


def moderator_check(user: User) -> None:
    """Site moderation (the admin's report queue) is for active staff with the permission to
    act on reports; anyone else is refused, whatever the interface."""
    if not (user.is_active and user.is_staff and user.has_perm("messaging.moderate_messagereport")):
        raise PermissionDenied("Only site moderators can do this.")


@transaction.atomic
def user_mute_site(*, actor: User, user_ids: list[int], minutes: int, reason: str, via: str) -> int:
    """Mute accounts site-wide for ``minutes`` (1 to a year): no posts, edits or reactions in
    any room until then (they still read). Site moderators only; returns how many."""
    moderator_check(actor)
    if type(minutes) is not int or not 1 <= minutes <= SITE_MUTE_MAX_MINUTES:
        raise DomainError(f"A mute lasts 1 to {SITE_MUTE_MAX_MINUTES} minutes (a year).", field="minutes")
    text = clean_reason(reason, required=True)
    until = timezone.now() + timedelta(minutes=minutes)
    ids = list(User.objects.filter(pk__in=user_ids).exclude(pk=actor.pk).values_list("pk", flat=True))
    User.objects.filter(pk__in=ids).update(muted_until=until, mute_reason=text, updated_at=timezone.now())
    for user_id in ids:
        moderation_record(
            actor=actor,
            action=ModerationAction.USER_MUTE,
            via=via,
            target_user_id=user_id,
            reason=text,
            detail={"until": until.isoformat()},
        )
    if ids:
        transaction.on_commit(
            functools.partial(
                broadcasts.ephemeral_publish,
                kinds.ACCOUNT_MUTED,
                {"muted_until": until.isoformat(), "mute_reason": text},
                users=ids,
            ),
            robust=True,
        )
    return len(ids)


@transaction.atomic
def users_activate(*, user_ids: list[int], actor: User, via: str, reason: str = "") -> int:
    """Let deactivated users log in again; returns how many changed (each is in the log)."""
    ids = list(User.objects.filter(pk__in=user_ids, is_active=False).values_list("pk", flat=True))
    User.objects.filter(pk__in=ids).update(is_active=True, updated_at=timezone.now())
    for user_id in ids:
        moderation_record(
            actor=actor, action=ModerationAction.USER_ACTIVATE, via=via, target_user_id=user_id, reason=reason
        )
    return len(ids)


@transaction.atomic
def users_deactivate(
    *,
    user_ids: list[int],
    actor_id: int | None = None,
    via: str = ModerationInterface.ADMIN,
    reason: str = "",
) -> int:
    """Deactivate users (never ``actor_id`` itself); returns how many changed.

    A deactivated user can no longer log in, refresh a token or redeem a ticket (each checks
    ``is_active``); after commit their open WebSocket connections are closed in every server
    process, so they stop receiving at once rather than when they next reconnect.
    """
    users = User.objects.filter(pk__in=user_ids, is_active=True)
    if actor_id is not None:
        users = users.exclude(pk=actor_id)
    ids = list(users.values_list("pk", flat=True))
    User.objects.filter(pk__in=ids).update(is_active=False, updated_at=timezone.now())
    if ids:
        _credentials_revoke(user_ids=ids)
    actor = User.objects.filter(pk=actor_id).first() if actor_id is not None else None
    for user_id in ids:
        moderation_record(
            actor=actor,
            action=ModerationAction.USER_DEACTIVATE,
            via=via,
            target_user_id=user_id,
            reason=reason,
        )
    return len(ids)


def password_check(*, user: User, password: object, field: str = "password") -> None:
    """Raise WrongPassword (on ``field``) unless ``password`` is the user's password."""
    if not isinstance(password, str) or not user.check_password(password):
        raise WrongPassword(field=field)


@transaction.atomic
def user_password_change(*, user: User, old_password: str, new_password: str) -> User:
    """Change a password the user proves they know; see ``user_password_set`` for the effects."""
    password_check(user=user, password=old_password, field="old_password")
    return user_password_set(user=user, password=new_password, field="new_password")


@transaction.atomic
def user_password_set(*, user: User, password: str, field: str = "password") -> User:
    """Set a new password (checked by AUTH_PASSWORD_VALIDATORS) and sign the account out elsewhere.

    Every refresh token is blacklisted and every unused WebSocket ticket deleted; after commit the
    account's open sockets close (4403: pages go to the log-in page). Sessions end by themselves
    (Django checks a hash of the password on each request); a view that wants to keep its own
    session calls ``update_session_auth_hash``.
    """
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise DomainError(" ".join(exc.messages), field=field) from None
    user.set_password(password)
    user.save(update_fields=["password", "updated_at"])
    _credentials_revoke(user_ids=[user.pk])
    return user


def _credentials_revoke(*, user_ids: list[int]) -> None:
    tokens = OutstandingToken.objects.filter(user_id__in=user_ids, blacklistedtoken__isnull=True)
    BlacklistedToken.objects.bulk_create([BlacklistedToken(token=t) for t in tokens], ignore_conflicts=True)
    WsTicket.objects.filter(user_id__in=user_ids).delete()
    transaction.on_commit(functools.partial(accounts_sockets_close, user_ids), robust=True)


@transaction.atomic
def user_delete(*, user: User) -> None:
    """Delete the account for good; the caller has confirmed it (``password_check``).

    Messages stay, with no sender: every page shows them as from a "deleted user". Reactions,
    memberships, tickets go with the account; its refresh tokens are blacklisted first (their
    rows outlive it) and its sockets close after commit. Events the account was the subject of
    stay in the log with no subject, so the log keeps every ``seq``; no stored payload names it
    any more (it is a "deleted user" in catch-up too: ``events_forget_user``). Leaving rooms (member
    events, ownership) is the rooms app's part: ``rooms.services.account_delete``.
    """
    user_ids = [user.pk]
    _credentials_revoke(user_ids=user_ids)
    events_forget_user(user_id=user.pk, names=[user.username, user.display_name])
    Event.objects.filter(subject_id=user.pk).update(subject=None)
    user.delete()


def accounts_sockets_close(user_ids: list[int]) -> None:
    broadcasts.accounts_closed(user_ids)


@transaction.atomic
def user_block(*, user: User, target_id: object) -> UserBlock:
    """Block another active user for oneself (idempotent); DomainError for oneself or nobody."""
    try:
        target_id = parse_id(target_id, label="user", field="user", minimum=1)
    except InvalidNumber:
        raise DomainError("No such user.", field="user") from None
    if target_id == user.id:
        raise DomainError("You cannot block yourself.", field="user")
    if not User.objects.filter(pk=target_id, is_active=True).exists():
        raise DomainError("No such user.", field="user")
    block, created = UserBlock.objects.get_or_create(user=user, blocked_id=target_id)
    if created:
        _blocks_announce(user)
    return block


@transaction.atomic
def user_unblock(*, user: User, target_id: int) -> None:
    """Unblock (idempotent); a real change reaches the user's other tabs like a block."""
    deleted, _ = UserBlock.objects.filter(user=user, blocked_id=target_id).delete()
    if deleted:
        _blocks_announce(user)


def _blocks_announce(user: User) -> None:
    """After commit, tell every socket of ``user`` whom they block now (``blocks.updated``)."""
    blocked = sorted(UserBlock.objects.filter(user=user).values_list("blocked_id", flat=True))
    transaction.on_commit(
        functools.partial(
            broadcasts.ephemeral_publish, kinds.BLOCKS_UPDATED, {"blocked": blocked}, users=[user.pk]
        ),
        robust=True,
    )
