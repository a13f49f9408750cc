"""The publication lock (chatsite.realtime.events): taken late, by a writer's first event, and
held until its transaction has committed and its broadcast is handed over."""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction

from chatsite.realtime import events, kinds
from chatsite.realtime.events import event_record, event_writer, publication_order
from chatsite.realtime.models import Event

pytestmark = pytest.mark.django_db(transaction=True)


def lock_held() -> bool:
    """Whether this thread (its database session, on PostgreSQL) holds the publication lock."""
    if connection.vendor != "postgresql":
        return events._process_lock._is_owned()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()"
            " AND granted AND classid = 0 AND objid = %s",
            [events.PUBLICATION_LOCK_KEY],
        )
        return cursor.fetchone()[0] > 0


def record(room_id: int) -> Event:
    return event_record(kinds.ROOM_UPDATED, room_id=room_id, payload={"room": {"id": room_id}})


def test_the_lock_is_taken_by_the_first_event_and_let_go_after_the_commit(make_user, make_room):
    room = make_room(make_user("ann"), name="General")
    seen = []

    @event_writer
    def service() -> None:
        seen.append(lock_held())
        record(room.id)
        seen.append(lock_held())
        record(room.id)  # the second event of the same writer: held once, not twice

    service()
    assert seen == [False, True]
    assert not lock_held()
    assert Event.objects.filter(type="room.updated").count() == 2


def test_a_writer_that_fails_lets_the_lock_go(make_user, make_room):
    room = make_room(make_user("ann"), name="General")

    @event_writer
    def service() -> None:
        record(room.id)
        raise RuntimeError("after its event")

    with pytest.raises(RuntimeError):
        service()
    assert not lock_held()
    assert not Event.objects.filter(type="room.updated").exists()


def test_recording_outside_an_event_writer_is_refused(make_user, make_room):
    room = make_room(make_user("ann"), name="General")
    with pytest.raises(RuntimeError), transaction.atomic():
        record(room.id)


def test_while_another_writer_holds_the_lock_a_writer_gets_as_far_as_its_first_event(make_user, make_room):
    """Its own queries do not wait for the lock (they used to: the lock was taken first, so every
    writer's whole transaction waited for every other's); only its event does."""
    room = make_room(make_user("ann"), name="General")
    steps: list[str] = []
    holding, release = threading.Event(), threading.Event()

    def holder() -> None:
        try:
            with publication_order():
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    @event_writer
    def service() -> None:
        room.refresh_from_db()  # a query of its own, inside its transaction
        steps.append("work done")
        record(room.id)
        steps.append("event recorded")

    def writer() -> None:
        try:
            service()
        finally:
            connection.close()

    threads = [threading.Thread(target=holder), threading.Thread(target=writer)]
    threads[0].start()
    assert holding.wait(10)
    threads[1].start()
    deadline = time.monotonic() + 10
    while "work done" not in steps and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert steps == ["work done"]  # waiting for the lock, at its event
    release.set()
    for thread in threads:
        thread.join(10)
    assert steps == ["work done", "event recorded"]
