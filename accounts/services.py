"""Every state change of accounts: registration, tickets, presence timestamps, deactivation."""

from __future__ import annotations

import functools
import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.exceptions import RegistrationError
from accounts.models import User, WsTicket, username_validator
from chatsite.exceptions import DomainError
from chatsite.realtime import broadcasts


def registration_errors(*, username: str, password: str, email: str = "") -> dict[str, list[str]]:
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
    return errors


@transaction.atomic
def user_register(*, username: str, password: str, email: str = "", display_name: str = "") -> User:
    """Create an account, or raise RegistrationError with field errors (nothing is written)."""
    username = (username or "").strip()
    errors = registration_errors(username=username, password=password, email=email)
    if errors:
        raise RegistrationError(errors)
    candidate = User(username=username, email=email or "", display_name=display_name or "")
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
    User.objects.filter(pk=user_id).update(last_seen=timezone.now())


@transaction.atomic
def user_set_theme(*, user: User, theme: str) -> User:
    """Remember the user's colour theme (system, light or dark); unknown values are refused."""
    if theme not in User.Theme.values:
        raise DomainError("Theme must be system, light or dark.", field="theme")
    user.theme = theme
    user.save(update_fields=["theme", "updated_at"])
    return user


@transaction.atomic
def users_deactivate(*, user_ids: list[int], actor_id: int | None = None) -> int:
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
    WsTicket.objects.filter(user_id__in=ids).delete()
    if ids:
        transaction.on_commit(functools.partial(accounts_sockets_close, ids), robust=True)
    return len(ids)


def accounts_sockets_close(user_ids: list[int]) -> None:
    broadcasts.accounts_closed(user_ids)
