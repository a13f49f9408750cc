"""Reports of messages, and what site moderators do about them (the admin's report queue).

Any member may report a message of a room they are in (once per message; rate-limited); only
moderators see reports, so the reported user never learns who reported them. Moderators act
through these services — dismiss, delete the message, mute its author site-wide, ban — each
with a required reason, each in the moderation log, and the report closed with who and when.
"""

from __future__ import annotations

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import ModerationAction, User
from accounts.services import (
    clean_reason,
    moderation_record,
    moderator_check,
    user_mute_site,
    users_deactivate,
)
from chatsite import ratelimit
from chatsite.exceptions import DomainError, PermissionDenied, RateLimited
from chatsite.realtime.events import event_writer
from messaging.changes import message_delete_by_moderator, message_for_member
from messaging.exceptions import MessageDeleted
from messaging.models import MessageReport

NOTE_MAX = MessageReport._meta.get_field("note").max_length


class ReportsRateLimited(RateLimited):
    code = "rate_limited"
    default_detail = "You have reported many messages recently. Try again later."


class InvalidReport(DomainError):
    code = "invalid_report"


@transaction.atomic
def message_report(
    *, reporter: User, message_id: object, reason: object, note: object = ""
) -> tuple[MessageReport, bool]:
    """Report a message of one of the reporter's rooms (MessageNotFound otherwise, as for a
    missing one); returns (report, created). Reporting it again returns the first report and
    files nothing; a deleted message or one's own cannot be reported."""
    message, _ = message_for_member(user=reporter, message_id=message_id)
    if message.deleted_at is not None:
        raise MessageDeleted()
    if message.sender_id == reporter.id:
        raise PermissionDenied("You cannot report your own message.")
    if reason not in MessageReport.Reason.values:
        raise InvalidReport("reason must be one of spam, harassment, inappropriate, other.", field="reason")
    text = clean_reason(note).strip() if note else ""
    existing = MessageReport.objects.filter(message=message, reporter=reporter).first()
    if existing is not None:
        return existing, False
    allowed = ratelimit.take(
        f"report:{reporter.id}", limit=settings.REPORT_RATE_LIMIT, window=settings.REPORT_RATE_WINDOW, count=1
    )
    if not allowed:
        raise ReportsRateLimited(retry_after=settings.REPORT_RATE_WINDOW)
    try:
        with transaction.atomic():
            return MessageReport.objects.create(
                message=message, reporter=reporter, reason=reason, note=text
            ), True
    except IntegrityError:  # the same report, filed concurrently
        return MessageReport.objects.get(message=message, reporter=reporter), False


def _close(reports: list[MessageReport], *, actor: User, status: str) -> None:
    MessageReport.objects.filter(pk__in=[r.pk for r in reports], status=MessageReport.Status.OPEN).update(
        status=status, resolved_by=actor, resolved_at=timezone.now()
    )


def _open_reports(report_ids: list[int]) -> list[MessageReport]:
    return list(
        MessageReport.objects.select_related("message").filter(
            pk__in=report_ids, status=MessageReport.Status.OPEN
        )
    )


@transaction.atomic
def reports_dismiss(*, actor: User, report_ids: list[int], reason: object, via: str) -> int:
    """Close open reports without acting on the message; returns how many."""
    moderator_check(actor)
    text = clean_reason(reason, required=True)
    reports = _open_reports(report_ids)
    for report in reports:
        moderation_record(
            actor=actor,
            action=ModerationAction.REPORT_DISMISS,
            via=via,
            target_user_id=report.message.sender_id,
            room_id=report.message.room_id,
            message_id=report.message_id,
            reason=text,
            detail={"report": report.pk, "reported_for": report.reason},
        )
    _close(reports, actor=actor, status=MessageReport.Status.DISMISSED)
    return len(reports)


def _every_open_report_of(message_ids: set[int]) -> list[MessageReport]:
    return list(MessageReport.objects.filter(message_id__in=message_ids, status=MessageReport.Status.OPEN))


@event_writer  # holds the publication lock until the whole batch commits (see events.py)
def reports_delete_messages(*, actor: User, report_ids: list[int], reason: object, via: str) -> int:
    """Delete the reported messages (tombstones, live on every page) and close every open report
    of them; returns how many messages were deleted."""
    moderator_check(actor)
    clean_reason(reason, required=True)
    message_ids = {r.message_id for r in _open_reports(report_ids)}
    deleted = 0
    for message_id in sorted(message_ids):
        try:
            message_delete_by_moderator(actor=actor, message_id=message_id, reason=reason, via=via)
            deleted += 1
        except MessageDeleted:
            pass  # deleted meanwhile (by its author, say): the report is closed all the same
    _close(_every_open_report_of(message_ids), actor=actor, status=MessageReport.Status.ACTIONED)
    return deleted


@transaction.atomic
def reports_mute_authors(
    *, actor: User, report_ids: list[int], minutes: int, reason: object, via: str
) -> int:
    """Mute the reported messages' authors site-wide for ``minutes``, closing the reports."""
    moderator_check(actor)
    reports = _open_reports(report_ids)
    authors = sorted({r.message.sender_id for r in reports if r.message.sender_id is not None})
    muted = user_mute_site(actor=actor, user_ids=authors, minutes=minutes, reason=reason, via=via)
    _close(reports, actor=actor, status=MessageReport.Status.ACTIONED)
    return muted


@transaction.atomic
def reports_ban_authors(*, actor: User, report_ids: list[int], reason: object, via: str) -> int:
    """Deactivate the reported messages' authors (their sockets close everywhere), closing the
    reports; returns how many accounts."""
    moderator_check(actor)
    text = clean_reason(reason, required=True)
    reports = _open_reports(report_ids)
    authors = sorted({r.message.sender_id for r in reports if r.message.sender_id is not None})
    banned = users_deactivate(user_ids=authors, actor_id=actor.id, via=via, reason=text)
    _close(reports, actor=actor, status=MessageReport.Status.ACTIONED)
    return banned
