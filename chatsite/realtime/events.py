"""Recording events, and publishing them in ``seq`` order.

Why a lock: sequence numbers are handed out when a transaction inserts its event, but
transactions commit, and their on-commit broadcasts run, in whatever order they finish. Were
event 6 published before event 5, a client could see 6, drop, and reconnect with
``?since=6`` — and never see 5. So every writer of events holds one lock from allocating its
``seq`` until its broadcast has been handed to the channel layer: commit order and publication
order then both equal ``seq`` order, and ``since`` is an exact cursor. On PostgreSQL the lock is a
session-level advisory lock (shared by all server processes); on SQLite, the embedded
single-process default, a process-local lock.

The critical section is short (a few inserts, a commit, one channel-layer send), and it is held
only by writers of events, never by readers or by delivery. It is taken late: a service runs
in its transaction without it (its reads, row locks and writes, in parallel with every other
writer) and takes it when it records its first event (``publication_lock_take``); it is let go
when the service's transaction has committed and its broadcasts are handed over. Taken at the
start, it made every writer's whole transaction cluster-wide serial: a reaction's or an edit's
queries held up every send. The rule that keeps this free of deadlocks: once it holds the lock,
a writer only inserts events and commits. A writer that waited for a row lock while holding it
could wait for another writer that holds that row and waits for the lock (PostgreSQL would detect
the cycle and abort one of them with an error), so a service locks and updates its rows before
its first event (the send batch updates its rooms before recording; account deletion locks the
messages it rewrites first). Account deletion cannot keep the rule throughout (it leaves room
after room, an ownership may pass on): a write to the same memberships at the same moment ends
one of the two with an error, not a hang.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any, ParamSpec, TypeVar

from asgiref.local import Local
from django.db import DatabaseError, connection, transaction

from chatsite.realtime import broadcasts, kinds
from chatsite.realtime.kinds import EventKind
from chatsite.realtime.models import Event

logger = logging.getLogger(__name__)

PUBLICATION_LOCK_KEY = 0x5041524C  # "PARL"
_process_lock = threading.RLock()
# Per thread, like Django's connections: how deep in event writers, and the lock once taken.
_writer = Local()

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def publication_order() -> Iterator[None]:
    if connection.vendor != "postgresql":
        with _process_lock:
            yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", [PUBLICATION_LOCK_KEY])
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [PUBLICATION_LOCK_KEY])
        except DatabaseError:
            # The connection is gone, and with it the lock.
            logger.exception("could not release the publication lock")
            connection.close()


@contextmanager
def _writer_scope() -> Iterator[None]:
    """One event writer's span: the lock its events take is released when the outermost scope
    ends, after its transaction (inside this scope) has committed and broadcast."""
    depth = getattr(_writer, "depth", 0)
    _writer.depth = depth + 1
    try:
        yield
    finally:
        _writer.depth = depth
        held: AbstractContextManager[None] | None = getattr(_writer, "held", None)
        if depth == 0 and held is not None:
            _writer.held = None
            held.__exit__(None, None, None)


def publication_lock_take() -> None:
    """Hold the publication lock until the running event writer ends (at once if held). Recording
    an event takes it."""
    if not getattr(_writer, "depth", 0):
        raise RuntimeError("events are recorded inside an event_writer")
    if getattr(_writer, "held", None) is None:
        held = publication_order()
        held.__enter__()
        _writer.held = held


def event_writer(func: Callable[P, R]) -> Callable[P, R]:
    """Run a service that records events atomically and in publication order (the lock is
    taken by its first event: see the module's docstring)."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with _writer_scope(), transaction.atomic():
            return func(*args, **kwargs)

    return wrapper


def event_new(
    kind: EventKind,
    *,
    room_id: int,
    payload: dict[str, Any],
    subject_id: int | None = None,
    object_id: int | None = None,
) -> Event:
    """An (unsaved) event of a stored kind, its payload checked against the frame's own keys."""
    if not kind.stored:
        raise ValueError(
            f"{kind.name} is ephemeral: publish it (broadcasts.ephemeral_publish), never store it"
        )
    kind.frame(None, payload)
    return Event(room_id=room_id, type=kind.name, payload=payload, subject_id=subject_id, object_id=object_id)


def event_record(
    kind: EventKind,
    *,
    room_id: int,
    payload: dict[str, Any],
    subject_id: int | None = None,
    object_id: int | None = None,
) -> Event:
    """Insert an event and schedule its broadcast for after commit. Call inside an event_writer."""
    event = event_new(kind, room_id=room_id, payload=payload, subject_id=subject_id, object_id=object_id)
    publication_lock_take()
    event.save(force_insert=True)
    transaction.on_commit(functools.partial(broadcasts.event_published, event), robust=True)
    return event


def events_record_many(events: list[Event]) -> list[Event]:
    """Insert several events (from ``event_new``) in one statement and schedule *one* broadcast
    of all of them, in seq order, for after commit. Call inside an event_writer."""
    publication_lock_take()
    events = Event.objects.bulk_create(events)
    transaction.on_commit(functools.partial(broadcasts.events_published, events), robust=True)
    return events


def event_frame(event: Event) -> dict[str, Any]:
    """The frame a client receives for an event, live or replayed: identical either way."""
    return kinds.get(event.type).frame(event.seq, event.payload)
