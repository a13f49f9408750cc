"""message_send_many: message_send's rules and rows, one transaction and one broadcast."""

import pytest

from messaging import broadcasts, services
from messaging.exceptions import InvalidMessage, SendRateLimited
from messaging.models import Event, Message
from messaging.serialization import message_payload
from rooms import services as room_services
from rooms.exceptions import RoomNotFound

pytestmark = pytest.mark.django_db


@pytest.fixture
def room_of_two(make_user):
    alice, bob = make_user(), make_user()
    room = room_services.room_create(creator=alice, name="batch")
    room_services.room_join(user=bob, room_id=room.id)
    return room, alice, bob


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
