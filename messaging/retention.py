"""Retention: deleting messages older than a cutoff, through the same path as a user's delete.

Each purged message becomes the same tombstone ``changes.message_delete`` leaves (text gone
from the row, its revisions, reactions, stored events and the search index, which follows the
row) and its ``message.deleted`` reaches open pages. Done in batches, each its own
transaction, so a long purge never holds the publication lock for long. Each batch appends, in
its own transaction, one moderation-log entry per room it purged (the messages' ids, the age
and the cutoff), so a room's owners see in their log what retention took.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count
from django.utils import timezone

from accounts.models import ModerationAction
from accounts.services import moderation_record
from chatsite.realtime.events import event_writer
from messaging.changes import tombstone
from messaging.models import Message

PURGE_BATCH = 200


@dataclass
class PurgeReport:
    cutoff: object
    found: int = 0
    deleted: int = 0
    by_room: dict[int, int] = field(default_factory=dict)


def _candidates(*, older_than_days: int, room_id: int | None):
    cutoff = timezone.now() - timedelta(days=older_than_days)
    messages = Message.objects.filter(created_at__lt=cutoff, deleted_at__isnull=True)
    if room_id is not None:
        messages = messages.filter(room_id=room_id)
    return cutoff, messages


@event_writer
def _purge_batch(ids: list[int], *, older_than_days: int, cutoff: datetime, via: str) -> int:
    purged: dict[int, list[int]] = defaultdict(list)
    for message in (
        Message.objects.select_related("sender")
        .select_for_update(of=("self",))
        .filter(pk__in=ids, deleted_at__isnull=True)
    ):
        tombstone(message, moderator=None, reason="", via=via)
        purged[message.room_id].append(message.id)
    for room_id, message_ids in purged.items():
        moderation_record(
            actor=None,
            action=ModerationAction.MESSAGES_PURGE,
            via=via,
            room_id=room_id,
            reason=f"Retention: messages older than {older_than_days} day(s)",
            detail={"messages": message_ids, "count": len(message_ids), "cutoff": cutoff.isoformat()},
        )
    return sum(len(message_ids) for message_ids in purged.values())


def messages_purge(
    *, older_than_days: int, room_id: int | None = None, execute: bool = False, via: str = "command"
) -> PurgeReport:
    """What a purge of messages older than ``older_than_days`` days (in one room, or all) finds,
    and with ``execute`` deletes (and logs, see the module). A dry run writes nothing."""
    if type(older_than_days) is not int or older_than_days < 1:
        raise ValueError("older_than_days must be a whole number of days, at least 1")
    cutoff, messages = _candidates(older_than_days=older_than_days, room_id=room_id)
    report = PurgeReport(cutoff=cutoff)
    for room, count in (
        messages.order_by().values("room_id").annotate(n=Count("pk")).values_list("room_id", "n")
    ):
        report.by_room[room] = count
        report.found += count
    if not execute:
        return report
    last = 0
    while True:
        ids = list(messages.filter(pk__gt=last).order_by("pk").values_list("pk", flat=True)[:PURGE_BATCH])
        if not ids:
            return report
        report.deleted += _purge_batch(ids, older_than_days=older_than_days, cutoff=cutoff, via=via)
        last = ids[-1]
