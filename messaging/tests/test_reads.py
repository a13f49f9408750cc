import pytest

from messaging import changes, reads, selectors, services
from messaging.exceptions import InvalidReadPointer
from rooms import services as rooms
from rooms.exceptions import RoomNotFound
from rooms.models import Membership, Room

pytestmark = pytest.mark.django_db


def send(user, room, body):
    return services.message_send(sender=user, room_id=room.id, body=body, client_id=None).message


def pointer(user, room) -> int:
    return Membership.objects.get(user=user, room=room).last_read_message_id


def published(callbacks) -> list[tuple[str, dict, list[int]]]:
    """(kind, payload, users) of each ephemeral publish to users captured on commit (receipts,
    to a room's open pages, are checked in test_receipts)."""
    return [
        (c.args[0].name, c.args[1], c.keywords["users"])
        for c in callbacks
        if hasattr(c, "args") and "users" in c.keywords
    ]


def test_a_member_starts_with_everything_before_joining_read(make_user, make_room):
    ann, ben = make_user(), make_user()
    room = make_room(ann)
    send(ann, room, "before ben")
    last = send(ann, room, "still before")
    rooms.room_join(user=ben, room_id=room.id)
    assert Room.objects.get(pk=room.id).last_message_id == last.id
    assert pointer(ben, room) == last.id
    assert selectors.unread_counts(user=ben)[0].count == 0
    send(ann, room, "after")
    assert selectors.unread_counts(user=ben)[0].count == 1


def test_unread_counts_others_messages_after_the_pointer_and_mentions(room_of_two):
    room, ann, ben = room_of_two
    send(ben, room, "mine are not unread for me")
    send(ann, room, "plain")
    send(ann, room, f"hey @{ben.username}")
    send(ann, room, "@room look")
    deleted = send(ann, room, "soon gone")
    changes.message_delete(actor=ann, message_id=deleted.id, via="api")
    (state,) = selectors.unread_counts(user=ben)
    assert (state.room_id, state.count, state.mentions) == (room.id, 3, 2)
    assert state.payload()["unread_capped"] is False
    (own,) = selectors.unread_counts(user=ann)
    assert own.count == 1 and own.mentions == 0


def test_unread_count_stops_at_the_cap(room_of_two, monkeypatch):
    room, ann, ben = room_of_two
    monkeypatch.setattr(selectors, "UNREAD_CAP", 3)
    for i in range(5):
        send(ann, room, f"m{i}")
    (state,) = selectors.unread_counts(user=ben)
    assert state.count == 3 and state.payload()["unread_capped"] is True


def test_read_mark_moves_the_pointer_forward_and_tells_the_readers_sockets(
    room_of_two, django_capture_on_commit_callbacks
):
    room, ann, ben = room_of_two
    first, second = send(ann, room, "one"), send(ann, room, f"@{ben.username} two")
    with django_capture_on_commit_callbacks() as callbacks:
        state, moved = reads.read_mark(user=ben, room_id=room.id, message_id=first.id)
    assert moved and pointer(ben, room) == first.id
    assert (state.count, state.mentions) == (1, 1)
    expected = {"room": room.id, "last_read": first.id, "unread": 1, "unread_capped": False, "mentions": 1}
    assert published(callbacks) == [("read.updated", expected, [ben.id])]
    assert selectors.first_unread_id(user_id=ben.id, room_id=room.id, last_read=first.id) == second.id


def test_read_mark_never_moves_backwards_and_publishes_nothing_then(
    room_of_two, django_capture_on_commit_callbacks
):
    room, ann, ben = room_of_two
    first, second = send(ann, room, "one"), send(ann, room, "two")
    reads.read_mark(user=ben, room_id=room.id, message_id=second.id)
    for again in (first.id, second.id):
        with django_capture_on_commit_callbacks() as callbacks:
            state, moved = reads.read_mark(user=ben, room_id=room.id, message_id=again)
        assert not moved and callbacks == []
        assert state.last_read == second.id and state.count == 0
    assert pointer(ben, room) == second.id


def test_read_mark_beyond_the_newest_message_is_refused(room_of_two):
    room, ann, ben = room_of_two
    last = send(ann, room, "one")
    for bad in (last.id + 1, 10**18 - 1):
        with pytest.raises(InvalidReadPointer):
            reads.read_mark(user=ben, room_id=room.id, message_id=bad)
    for bad in (0, -1, "x", None, True, 1.5):
        with pytest.raises(InvalidReadPointer):
            reads.read_mark(user=ben, room_id=room.id, message_id=bad)
    assert pointer(ben, room) == 0


def test_read_mark_in_a_room_you_are_not_in_is_not_found(room_of_two, make_user):
    room, ann, _ = room_of_two
    last = send(ann, room, "one")
    outsider = make_user()
    for room_id in (room.id, 999_999, "nope"):
        with pytest.raises(RoomNotFound):
            reads.read_mark(user=outsider, room_id=room_id, message_id=last.id)
