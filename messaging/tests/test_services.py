import pytest
from django.test import override_settings

from chatsite.exceptions import NotFound
from chatsite.realtime import broadcasts
from chatsite.realtime import selectors as event_selectors
from chatsite.realtime.models import Event
from conftest import scheduled_broadcasts
from messaging import selectors, services
from messaging.exceptions import InvalidMessage, SendRateLimited
from messaging.models import Message
from messaging.serialization import message_payload
from rooms import services as rooms
from rooms.exceptions import RoomNotFound
from rooms.models import Room

pytestmark = pytest.mark.django_db


def test_send_persists_records_event_and_schedules_broadcast(
    make_user, make_room, django_capture_on_commit_callbacks
):
    ann = make_user("ann")
    room = make_room(ann)
    with django_capture_on_commit_callbacks() as callbacks:
        result = services.message_send(sender=ann, room_id=room.id, body="  hello  ", client_id="c-1")
    message = Message.objects.get()
    assert result.created and result.message == message and message.body == "hello"
    event = Event.objects.get(type="message.new")
    assert result.seq == event.seq
    assert event.payload == {"message": message_payload(message)}
    assert scheduled_broadcasts(callbacks) == [("events_published", "message.new", None)]
    assert Room.objects.get().last_activity_at == message.created_at


def test_send_is_idempotent_by_client_id(make_user, make_room, django_capture_on_commit_callbacks):
    ann = make_user()
    room = make_room(ann)
    first = services.message_send(sender=ann, room_id=room.id, body="once", client_id="same")
    with django_capture_on_commit_callbacks() as callbacks:
        again = services.message_send(sender=ann, room_id=room.id, body="twice?", client_id="same")
    assert not again.created and again.message.id == first.message.id and again.seq is None
    assert callbacks == []
    assert Message.objects.count() == 1


def test_client_ids_are_per_sender(make_user, make_room):
    ann, ben = make_user(), make_user()
    room = make_room(ann, members=(ben,))
    services.message_send(sender=ann, room_id=room.id, body="a", client_id="x")
    services.message_send(sender=ben, room_id=room.id, body="b", client_id="x")
    assert Message.objects.count() == 2


@pytest.mark.parametrize(
    ("body", "client_id", "field"),
    [
        ("", "c", "body"),
        ("   \n ", "c", "body"),
        ("x" * 10_001, "c", "body"),
        (None, "c", "body"),
        (42, "c", "body"),
        ("nul\x00byte", "c", "body"),
        ("ok", "x" * 65, "client_id"),
        ("ok", 7, "client_id"),
        ("ok", "tab\tid", "client_id"),
        # Valid JSON, but no UTF-8 form: PostgreSQL cannot store it, a socket cannot send it.
        ("lone \ud800 surrogate", "c", "body"),
        ("ok", "id-\udfff", "client_id"),
        # Only invisible characters: zero-width space/joiner, BOM, bidi controls, fillers.
        ("\u200b\u200d\ufeff", "c", "body"),
        ("\u202e\u2066\u2069 \u200e", "c", "body"),
        ("\u3164\u2800", "c", "body"),
        ("bell\x07", "c", "body"),
    ],
)
def test_send_rejects_bad_input_and_writes_nothing(make_user, make_room, body, client_id, field):
    ann = make_user()
    room = make_room(ann)
    events_before = Event.objects.count()
    with pytest.raises(InvalidMessage) as info:
        services.message_send(sender=ann, room_id=room.id, body=body, client_id=client_id)
    assert info.value.field == field
    assert not Message.objects.exists()
    assert Event.objects.count() == events_before


def test_body_of_exactly_max_length_is_accepted(make_user, make_room):
    ann = make_user()
    room = make_room(ann)
    services.message_send(sender=ann, room_id=room.id, body="é" * 10_000, client_id="max")
    assert len(Message.objects.get().body) == 10_000


def test_non_member_and_missing_room_get_the_same_not_found(make_user, make_room):
    room = make_room()
    outsider = make_user()
    errors = []
    for room_id in (room.id, 999_999):
        with pytest.raises(NotFound) as info:
            services.message_send(sender=outsider, room_id=room_id, body="hi", client_id=f"c{room_id}")
        errors.append((info.value.code, info.value.detail))
    assert errors[0] == errors[1]
    assert not Message.objects.exists()


@override_settings(SEND_RATE_LIMIT=3)
def test_send_rate_limit(make_user, make_room):
    ann = make_user()
    room = make_room(ann)
    for i in range(3):
        services.message_send(sender=ann, room_id=room.id, body="hi", client_id=f"r{i}")
    with pytest.raises(SendRateLimited):
        services.message_send(sender=ann, room_id=room.id, body="hi", client_id="r3")
    assert Message.objects.count() == 3


def test_history_pages_by_keyset(make_user, make_room):
    ann = make_user()
    room = make_room(ann)
    ids = [
        services.message_send(sender=ann, room_id=room.id, body=f"m{i}", client_id=f"h{i}").message.id
        for i in range(7)
    ]
    newest = selectors.message_payloads_page(user=ann, room_id=room.id, limit=3)
    assert [m["id"] for m in newest] == ids[:-4:-1]
    older = selectors.message_payloads_page(user=ann, room_id=room.id, before=newest[-1]["id"], limit=3)
    assert [m["id"] for m in older] == ids[-4:-7:-1]
    forward = selectors.message_payloads_page(user=ann, room_id=room.id, after=ids[1], limit=2)
    assert [m["id"] for m in forward] == ids[2:4]


def test_catch_up_is_bounded(make_user, make_room, settings):
    settings.CATCHUP_MAX_EVENTS = 3
    ann = make_user()
    room = make_room(ann)
    start = event_selectors.latest_seq()
    for i in range(3):
        services.message_send(sender=ann, room_id=room.id, body="x", client_id=f"b{i}")
    ok = event_selectors.events_since(user_id=ann.id, room_ids={room.id}, since=start)
    assert not ok.resync and [f["type"] for f in ok.frames] == ["message.new"] * 3
    services.message_send(sender=ann, room_id=room.id, body="x", client_id="b3")
    assert event_selectors.events_since(user_id=ann.id, room_ids={room.id}, since=start).resync
    assert event_selectors.events_since(user_id=ann.id, room_ids={room.id}, since=10**9).resync


@pytest.mark.django_db(transaction=True)
def test_concurrent_sends_with_one_client_id_store_one_message(make_user, make_room):
    import threading

    from django.db import connection

    ann = make_user()
    room = make_room(ann)
    barrier = threading.Barrier(4)
    results, errors = [], []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            results.append(services.message_send(sender=ann, room_id=room.id, body="race", client_id="same"))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert len({r.message.id for r in results}) == 1
    assert Message.objects.count() == 1
    assert Event.objects.filter(type="message.new").count() == 1


# --- message_send_many: the group commit behind WebSocket sends ----------------------------


@pytest.fixture
def published(monkeypatch):
    calls = []
    monkeypatch.setattr(broadcasts, "events_published", lambda events: calls.append(list(events)))
    monkeypatch.setattr(broadcasts, "event_published", lambda event: calls.append([event]))
    return calls


def test_send_many_writes_what_message_send_writes_in_one_broadcast(
    room_of_two, published, django_capture_on_commit_callbacks
):
    room, alice, bob = room_of_two
    sends = [
        services.SendRequest(sender=alice, room_id=room.id, body="one", client_id="a1"),
        services.SendRequest(sender=bob, room_id=room.id, body=" two ", client_id="b1"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.message_send_many(sends=sends)
    assert [o.created for o in outcomes] == [True, True]
    assert outcomes[0].seq < outcomes[1].seq
    assert [o.message.body for o in outcomes] == ["one", "two"]
    for outcome in outcomes:
        message = Message.objects.select_related("sender").get(pk=outcome.message.pk)
        event = Event.objects.get(seq=outcome.seq)
        assert event.type == "message.new" and event.room_id == room.id
        assert event.payload == {"message": message_payload(message)}
    room.refresh_from_db()
    assert room.last_activity_at == outcomes[1].message.created_at
    # One broadcast for the batch, its events in seq order.
    assert [[e.seq for e in call] for call in published] == [[outcomes[0].seq, outcomes[1].seq]]


def test_send_many_answers_each_send_as_message_send_would(room_of_two, make_user, published):
    room, alice, bob = room_of_two
    outsider = make_user()
    first = services.message_send(sender=alice, room_id=room.id, body="earlier", client_id="again")
    outcomes = services.message_send_many(
        sends=[
            services.SendRequest(sender=alice, room_id=room.id, body="", client_id="empty"),
            services.SendRequest(sender=outsider, room_id=room.id, body="let me in", client_id="o1"),
            services.SendRequest(sender=alice, room_id=room.id, body="retry", client_id="again"),
            services.SendRequest(sender=bob, room_id=room.id, body="fine", client_id="b1"),
        ]
    )
    assert isinstance(outcomes[0], InvalidMessage)
    assert isinstance(outcomes[1], RoomNotFound)
    assert outcomes[2].created is False and outcomes[2].message.pk == first.message.pk
    assert outcomes[3].created is True
    assert Message.objects.count() == 2


def test_send_many_with_a_client_id_twice_writes_it_once(room_of_two, published):
    room, alice, _ = room_of_two
    outcomes = services.message_send_many(
        sends=[services.SendRequest(sender=alice, room_id=room.id, body="x", client_id="same")] * 2
    )
    assert [o.created for o in outcomes] == [True, False]
    assert outcomes[0].message.pk == outcomes[1].message.pk
    assert Message.objects.count() == 1


def test_send_many_keeps_the_send_budget(room_of_two, published, settings):
    settings.SEND_RATE_LIMIT = 2
    room, alice, bob = room_of_two
    outcomes = services.message_send_many(
        sends=[
            services.SendRequest(sender=alice, room_id=room.id, body=f"m{i}", client_id=f"a{i}")
            for i in range(3)
        ]
        + [services.SendRequest(sender=bob, room_id=room.id, body="b", client_id="b")]
    )
    assert [type(o).__name__ for o in outcomes] == [
        "SendResult",
        "SendResult",
        "SendRateLimited",
        "SendResult",
    ]
    assert isinstance(outcomes[2], SendRateLimited)
    with pytest.raises(SendRateLimited):
        services.message_send(sender=alice, room_id=room.id, body="more", client_id="a9")


def test_visible_text_around_invisible_characters_is_kept(make_user, make_room):
    ann = make_user()
    room = make_room(ann)
    body = "\u202eevil\u202c and a family: \U0001f468\u200d\U0001f469\u200d\U0001f467"
    services.message_send(sender=ann, room_id=room.id, body=body, client_id="v")
    assert Message.objects.get().body == body


@pytest.mark.parametrize("failure", ["unstorable body", "error while writing one row"])
def test_one_failing_send_fails_alone_and_the_rest_of_its_batch_is_stored(
    room_of_two, published, monkeypatch, django_capture_on_commit_callbacks, failure
):
    """A group commit is one transaction: one send the database (or anything else) refuses must
    not take the others down with it. Injected past validation, as a bug or a new kind of bad
    input would arrive."""
    room, alice, bob = room_of_two
    poison = "boom \ud800" if failure == "unstorable body" else "boom"
    monkeypatch.setattr(services, "clean_body", lambda body, **_: body)
    if failure == "error while writing one row":
        real_payload = services.message_payload

        def payload_failing_for_boom(message: Message, **kwargs) -> dict:
            if message.body == "boom":
                raise RuntimeError("injected")
            return real_payload(message, **kwargs)

        monkeypatch.setattr(services, "message_payload", payload_failing_for_boom)
    sends = [
        services.SendRequest(sender=bob, room_id=room.id, body="before", client_id="b1"),
        services.SendRequest(sender=alice, room_id=room.id, body=poison, client_id="poison"),
        services.SendRequest(sender=bob, room_id=room.id, body="after", client_id="b2"),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = services.message_send_many(sends=sends)
    assert [type(o).__name__ for o in outcomes] == ["SendResult", "SendFailed", "SendResult"]
    assert outcomes[1].code == "send_failed" and outcomes[1].detail
    assert list(Message.objects.order_by("id").values_list("body", flat=True)) == ["before", "after"]
    events = list(Event.objects.filter(type="message.new").order_by("seq"))
    assert [e.payload["message"]["body"] for e in events] == ["before", "after"]
    # Published in seq order (together, or one by one after the batch was split up).
    assert [e.seq for call in published for e in call] == [events[0].seq, events[1].seq]


def test_send_budget_slides_across_window_boundaries(make_user, make_room, settings, monkeypatch):
    """A fixed window lets 2x the limit through around its boundary; a sliding one does not."""
    import time as real_time

    settings.SEND_RATE_LIMIT, settings.SEND_RATE_WINDOW = 4, 10
    ann = make_user()
    room = make_room(ann)
    clock = {"now": 1_000_009.0}  # 1 s before a window boundary
    monkeypatch.setattr(real_time, "time", lambda: clock["now"])

    def burst(tag: str, count: int) -> int:
        sent = 0
        for i in range(count):
            try:
                services.message_send(sender=ann, room_id=room.id, body="x", client_id=f"{tag}{i}")
                sent += 1
            except SendRateLimited:
                pass
        return sent

    assert burst("a", 4) == 4  # the whole budget, just before the boundary
    clock["now"] = 1_000_010.5  # just after it: a fixed window would grant 4 more
    assert burst("b", 4) == 0
    clock["now"] = 1_000_015.0  # the first burst is half out of the last 10 s
    assert 1 <= burst("c", 4) <= 2
    clock["now"] = 1_000_030.0  # long after: the whole budget again
    assert burst("d", 4) == 4


@pytest.mark.parametrize("how", ["removed", "left"])
def test_retry_by_someone_no_longer_in_the_room_is_not_found(room_of_two, how):
    """Membership is checked before a retry gets its original: a former member is answered
    like any non-member, though the message they are retrying was stored."""
    room, alice, bob = room_of_two
    services.message_send(sender=bob, room_id=room.id, body="before", client_id="early")
    if how == "removed":
        rooms.member_remove(actor=alice, room_id=room.id, user_id=bob.id, via="api")
    else:
        rooms.room_leave(user=bob, room_id=room.id)
    with pytest.raises(RoomNotFound):
        services.message_send(sender=bob, room_id=room.id, body="before", client_id="early")
    (outcome,) = services.message_send_many(
        sends=[services.SendRequest(sender=bob, room_id=room.id, body="before", client_id="early")]
    )
    assert isinstance(outcome, RoomNotFound)
    assert Message.objects.count() == 1
