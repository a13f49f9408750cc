import pytest

from conftest import ephemeral_published
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
        (kind, payload, audience["users"])
        for kind, payload, audience in ephemeral_published(callbacks)
        if "users" in audience
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


# --- several reads at once: what a server process's read batcher writes --------------------------


def test_reads_marked_together_answer_as_one_by_one_in_one_transaction_and_publication(
    make_user, make_room, django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    ann, ben, cal, dee = (make_user(n) for n in ("ann", "ben", "cal", "dee"))
    room = make_room(ann, members=(ben, cal))
    other = make_room(ann, name="Other", members=(ben,))
    m1, m2 = send(ann, room, "one"), send(ann, room, f"@{cal.username} two")
    m3 = send(ann, room, "three")
    o1 = send(ann, other, "elsewhere")
    Request = reads.ReadRequest
    batch = [
        Request(user=ben, room_id=room.id, message_id=m1.id),
        Request(user=cal, room_id=room.id, message_id=m1.id),
        Request(user=ben, room_id=room.id, message_id=m3.id),  # the same member again, further
        Request(user=ben, room_id=other.id, message_id=o1.id),
        Request(user=dee, room_id=room.id, message_id=m1.id),  # not a member
        Request(user=cal, room_id=room.id, message_id=m3.id + 100),  # past the newest
        Request(user=cal, room_id="x", message_id=m1.id),  # not a room id
        Request(user=ben, room_id=room.id, message_id=m2.id),  # behind its own pointer now
    ]
    # However many reads: the memberships, one UPDATE, the pointers read back, one unread scan
    # and a receipts size check per room (and the transaction).
    with django_capture_on_commit_callbacks() as callbacks, django_assert_max_num_queries(9):
        outcomes = reads.read_mark_many(reads=batch)
    assert (pointer(ben, room), pointer(cal, room), pointer(ben, other)) == (m3.id, m1.id, o1.id)
    ben_room = {"room": room.id, "last_read": m3.id, "unread": 0, "unread_capped": False, "mentions": 0}
    cal_room = {"room": room.id, "last_read": m1.id, "unread": 2, "unread_capped": False, "mentions": 1}
    ben_other = {"room": other.id, "last_read": o1.id, "unread": 0, "unread_capped": False, "mentions": 0}
    answered = [o if isinstance(o, Exception) else (o[0].payload(), o[1]) for o in outcomes]
    assert answered[:4] == [(ben_room, True), (cal_room, True), (ben_room, True), (ben_other, True)]
    assert type(answered[4]) is RoomNotFound and type(answered[6]) is RoomNotFound
    assert type(answered[5]) is InvalidReadPointer
    assert answered[7] == (ben_room, False)
    # One publication after commit, one read.updated per reader and room, with the final state.
    assert len(callbacks) == 1
    assert sorted(published(callbacks), key=str) == sorted(
        [
            ("read.updated", ben_room, [ben.id]),
            ("read.updated", cal_room, [cal.id]),
            ("read.updated", ben_other, [ben.id]),
        ],
        key=str,
    )


@pytest.mark.parametrize(("cap", "queries"), [(3, 2), (100, 1)])
def test_unread_for_several_readers_equals_each_counted_alone(
    room_of_two, make_user, monkeypatch, django_assert_num_queries, cap, queries
):
    """One scan serves readers whose unread messages it holds; one it cannot reach (with the cap
    at 3 the scan holds the newest 12 rows, and ann's two unread messages are older) is counted
    alone: a second query."""
    monkeypatch.setattr(selectors, "UNREAD_CAP", cap)
    room, ann, ben = room_of_two
    cal = make_user("cal")
    rooms.room_join(user=cal, room_id=room.id)
    sent = [
        send(ben if i in (1, 4) else ann, room, f"@{cal.username} m{i}" if i % 4 == 0 else f"m{i}")
        for i in range(20)
    ]
    changes.message_delete(actor=ann, message_id=sent[7].id, via="web")
    pointers = {ann.id: 0, ben.id: sent[2].id, cal.id: sent[15].id}
    with django_assert_num_queries(queries):
        together = selectors.unread_for_readers(room_id=room.id, pointers=pointers)
    for user_id, last_read in pointers.items():
        assert together[user_id] == selectors.unread_in_room(
            user_id=user_id, room_id=room.id, last_read=last_read
        )
    assert together[ann.id].count == 2
