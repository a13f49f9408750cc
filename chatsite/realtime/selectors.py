"""Reads of the event log."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Max, Q

from chatsite.realtime.events import event_frame
from chatsite.realtime.models import Event


def latest_seq() -> int:
    return Event.objects.aggregate(m=Max("seq"))["m"] or 0


@dataclass(frozen=True)
class CatchUp:
    frames: list[dict[str, Any]]
    resync: bool


def events_since(*, user_id: int, room_ids: Iterable[int], since: int) -> CatchUp:
    """Every event after ``since`` in the user's rooms (and membership events about the user),
    in seq order; ``resync`` when there are more than CATCHUP_MAX_EVENTS of them or ``since``
    is ahead of anything recorded."""
    limit = settings.CATCHUP_MAX_EVENTS
    if since > latest_seq():
        return CatchUp(frames=[], resync=True)
    events = list(
        Event.objects.filter(Q(room_id__in=set(room_ids)) | Q(subject_id=user_id), seq__gt=since).order_by(
            "seq"
        )[: limit + 1]
    )
    if len(events) > limit:
        return CatchUp(frames=[], resync=True)
    return CatchUp(frames=[event_frame(e) for e in events], resync=False)


def events_between(*, after: int, before: int | None = None) -> list[Event] | None:
    """Every recorded event with ``after < seq < before`` (no upper bound without ``before``), in
    seq order, for a hub filling a gap in what the channel layer brought it; None when there are
    more than CATCHUP_MAX_EVENTS (too many to replay: sockets should reconnect and resync)."""
    limit = settings.CATCHUP_MAX_EVENTS
    events = Event.objects.filter(seq__gt=after).order_by("seq")
    if before is not None:
        events = events.filter(seq__lt=before)
    found = list(events[: limit + 1])
    return None if len(found) > limit else found
