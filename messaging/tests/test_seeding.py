"""seed_chat: idempotent, deterministic, and its bulk path writes what the services write."""

import random
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from chatsite.realtime.models import Event
from messaging import seeding, services
from messaging.models import Message
from messaging.selectors import unread_counts, unread_in_room
from messaging.serialization import message_payload
from rooms import services as room_services
from rooms.models import Membership, Room
from rooms.serialization import member_payload

pytestmark = pytest.mark.django_db

SIZES = {"users": 12, "rooms": 2, "members": 6, "messages": 260, "dms": 2}


def snapshot() -> dict[str, object]:
    """Everything seeded, by value (no ids or timestamps), in write order."""
    return {
        "rooms": sorted(
            (r.name, r.kind, sorted(r.memberships.values_list("user__username", flat=True)))
            for r in Room.objects.all()
        ),
        "messages": [
            (m.room.name, m.sender.username, m.body, m.client_id)
            for m in Message.objects.select_related("room", "sender").order_by("id")
        ],
        "events": list(Event.objects.order_by("seq").values_list("type", flat=True)),
    }


def wipe() -> None:
    Event.objects.all().delete()
    Message.objects.all().delete()
    Room.objects.all().delete()


def test_seed_writes_rooms_members_dms_and_history_through_the_bulk_path():
    summary = seeding.seed_chat(seed=5, **SIZES)
    assert SIZES["messages"] > seeding.BULK_THRESHOLD  # exercised the bulk path
    assert len(summary.rooms) == 2 and len(summary.dms) == 2
    assert Message.objects.count() == 260
    assert Event.objects.filter(type="message.new").count() == 260
    assert Event.objects.filter(type="member.joined").count() == Membership.objects.count()
    for room in summary.rooms:
        assert room.memberships.count() == 6
    # Senders are members of the room they write in.
    for message in Message.objects.all():
        assert Membership.objects.filter(room_id=message.room_id, user_id=message.sender_id).exists()
    # ids, seqs and timestamps grow together.
    events = list(Event.objects.filter(type="message.new").order_by("seq"))
    ids = [e.payload["message"]["id"] for e in events]
    assert ids == sorted(ids)
    times = list(Message.objects.order_by("id").values_list("created_at", flat=True))
    assert times == sorted(times)
    for room in Room.objects.all():
        last = room.messages.order_by("-id").first()
        if last is not None:
            assert room.last_activity_at == last.created_at


def planner_row_count(table: str) -> int | None:
    """How many rows the query planner believes ``table`` holds (from its last ANALYZE)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT reltuples FROM pg_class WHERE relname = %s", [table])
        else:
            cursor.execute("SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'")
            if cursor.fetchone() is None:
                return None
            cursor.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s LIMIT 1", [table])
        row = cursor.fetchone()
    return int(float(str(row[0]).split()[0])) if row else None


def test_a_bulk_seed_leaves_the_planner_statistics_of_what_it_wrote():
    seeding.seed_chat(seed=5, **SIZES)
    assert planner_row_count(Message._meta.db_table) == Message.objects.count() == 260


def test_seed_is_idempotent_and_tops_up():
    seeding.seed_chat(seed=5, **SIZES)
    before = snapshot()
    summary = seeding.seed_chat(seed=5, **SIZES)
    assert summary.messages_created == 0 and summary.memberships_created == 0
    assert snapshot() == before
    more = seeding.seed_chat(seed=5, **(SIZES | {"messages": 300}))
    assert more.messages_created == 40
    after = snapshot()
    assert after["messages"][:260] == before["messages"]
    assert len(after["messages"]) == 300


def test_seed_is_deterministic_for_a_seed():
    seeding.seed_chat(seed=9, **SIZES)
    first = snapshot()
    wipe()
    seeding.seed_chat(seed=9, **SIZES)
    assert snapshot() == first
    wipe()
    seeding.seed_chat(seed=10, **SIZES)
    assert snapshot()["messages"] != first["messages"]


def test_bulk_message_rows_equal_what_message_send_writes():
    alice, bob = seeding.seed_users(count=2, rng=random.Random(1))
    room = room_services.room_create(creator=alice, name="equal")
    room_services.room_join(user=bob, room_id=room.id)

    sent = services.message_send(sender=bob, room_id=room.id, body="same words", client_id="svc-1")
    via_service = Message.objects.select_related("sender").get(pk=sent.message.pk)
    service_event = Event.objects.get(seq=sent.seq)

    planned = seeding.PlannedMessage(number=1, room_id=room.id, sender=bob, body="same words")
    (bulk,) = seeding.messages_bulk_insert([planned])
    via_bulk = Message.objects.select_related("sender").get(pk=bulk.pk)
    bulk_event = Event.objects.get(type="message.new", payload__message__id=via_bulk.id)

    def row(m: Message) -> dict[str, object]:
        skip = {"id", "created_at", "client_id"}
        return {f.attname: getattr(m, f.attname) for f in Message._meta.concrete_fields if f.name not in skip}

    assert row(via_bulk) == row(via_service)
    for message, event in ((via_service, service_event), (via_bulk, bulk_event)):
        assert event.type == "message.new" and event.room_id == room.id and event.subject_id is None
        assert event.payload == {"message": message_payload(message)}
    assert set(bulk_event.payload["message"]) == set(service_event.payload["message"])
    assert via_bulk.id > via_service.id and bulk_event.seq > service_event.seq
    assert via_bulk.created_at > via_service.created_at
    room.refresh_from_db()
    assert room.last_activity_at == via_bulk.created_at
    assert room.last_message_id == via_bulk.id  # where a new member's read pointer starts


def test_bulk_memberships_equal_what_room_join_writes():
    users = seeding.seed_users(count=3, rng=random.Random(1))
    room = room_services.room_create(creator=users[0], name="joins")
    newest = services.message_send(
        sender=users[0], room_id=room.id, body="before them", client_id="j"
    ).message
    joined = room_services.room_join(user=users[1], room_id=room.id)
    (bulk,) = seeding.memberships_bulk_insert(room=room, users=[users[2]])
    for membership in (joined, Membership.objects.select_related("room", "user").get(pk=bulk.pk)):
        event = Event.objects.get(type="member.joined", subject_id=membership.user_id)
        assert event.room_id == room.id
        assert event.payload == member_payload(membership)
        assert membership.role == Membership.Role.MEMBER
        assert membership.last_read_message_id == newest.id  # what came before is not unread


def test_demo_is_lively_and_idempotent():
    out = StringIO()
    call_command("seed_chat", "--demo", stdout=out)
    names = set(Room.objects.values_list("name", flat=True))
    assert {"general", "random", "design-private"} <= names
    assert list(Room.objects.filter(is_default=True).values_list("name", flat=True)) == ["general"]
    assert Room.objects.filter(kind=Room.Kind.PRIVATE).exists()
    assert Room.objects.filter(kind=Room.Kind.DIRECT).exists()
    (group,) = [r for r in Room.objects.filter(kind=Room.Kind.DIRECT) if r.is_group]
    assert (group.name, group.named, group.memberships.count()) == ("Release crew", True, 3)
    for room in Room.objects.all():
        assert room.messages.exists()
        assert room.last_activity_at is not None
    # The rich side of a room: a thread, Markdown with a mention, reactions, an edit, a tombstone.
    assert Message.objects.filter(reply_count=2).exists()
    assert any(m.mentions for m in Message.objects.filter(body_html__contains="<strong>"))
    assert Message.objects.exclude(reactions=[]).count() >= 3
    assert Message.objects.filter(edited_at__isnull=False).exists()
    assert Message.objects.filter(deleted_at__isnull=False, body="").exists()
    counts = (Message.objects.count(), Event.objects.count(), Membership.objects.count())
    call_command("seed_chat", "--demo", stdout=StringIO())
    assert (Message.objects.count(), Event.objects.count(), Membership.objects.count()) == counts
    assert "Demo login" in out.getvalue()


def test_demo_login_finds_unread_rooms_a_mention_and_seen_messages():
    call_command("seed_chat", "--demo", stdout=StringIO())
    me = User.objects.get(username=seeding.username_for(0))
    unread = {Room.objects.get(pk=u.room_id).name or "dm": u for u in unread_counts(user=me)}
    assert (unread["general"].count, unread["random"].count, unread["random"].mentions) == (0, 2, 1)
    bob = User.objects.get(username=seeding.username_for(1))
    dm = Room.objects.filter(kind=Room.Kind.DIRECT, named=False, memberships__user=me).get(
        memberships__user=bob
    )
    assert unread_in_room(user_id=me.id, room_id=dm.id, last_read=_pointer(me, dm)).count == 1
    general = Room.objects.get(name="general")
    newest = general.messages.order_by("-id").first()
    assert not Membership.objects.filter(room=general, last_read_message_id__lt=newest.id).exists()
    assert Membership.objects.get(user=me, room__name="random").notify == Membership.Notify.MENTIONS


def _pointer(user, room) -> int:
    return Membership.objects.get(user=user, room=room).last_read_message_id


def test_command_reports_progress_for_load_sizes():
    out = StringIO()
    call_command(
        "seed_chat", "--users", "10", "--rooms", "2", "--members", "4", "--messages", "30", "--seed", "3",
        stdout=out,
    )  # fmt: skip
    assert "messages: 30/30" in out.getvalue()
    assert Message.objects.count() == 30  # the service path, for small numbers
    assert not Message.objects.exclude(client_id__startswith=seeding.SEED_CLIENT_PREFIX).exists()


def _planned_through_services_and_bulk(plan) -> tuple[Message, Message]:
    """One planned message written by ``_send_planned`` (the services) and by the bulk path."""
    seeding._send_planned(plan)
    by_services = Message.objects.select_related("sender").get(client_id=plan.client_id)
    bulk_plan = seeding.PlannedMessage(**{**plan.__dict__, "number": plan.number + 1000})
    (bulk,) = seeding.messages_bulk_insert([bulk_plan])
    return by_services, Message.objects.select_related("sender").get(pk=bulk.pk)


def test_bulk_rich_messages_equal_what_the_services_leave():
    """Replies, mentions, Markdown, reactions, edits and deletions: the bulk row is the row the
    services leave after the same sends, reactions, edits and deletions."""
    alice, bob, carol = seeding.seed_users(count=3, rng=random.Random(1))
    room = room_services.room_create(creator=alice, name="rich")
    for user in (bob, carol):
        room_services.room_join(user=user, room_id=room.id)
    root = services.message_send(
        sender=alice, room_id=room.id, body="root", client_id=seeding.client_id_for(1)
    )
    plans = [
        seeding.PlannedMessage(number=2, room_id=room.id, sender=bob, body="@carol **look** at `this`",
                               reply_to=1, mentions=(carol,), reactions=(("🎉", (alice, carol)), ("👍", (bob,)))),
        seeding.PlannedMessage(number=3, room_id=room.id, sender=carol, body="fixed (edited)", edited_from="fixd"),
        seeding.PlannedMessage(number=4, room_id=room.id, sender=bob, body="oops", reactions=(("👀", (alice,)),),
                               deleted=True),
    ]  # fmt: skip
    skip = {"id", "created_at", "client_id", "edited_at", "deleted_at", "reply_to"}
    for plan in plans:
        by_services, by_bulk = _planned_through_services_and_bulk(plan)
        for field in Message._meta.concrete_fields:
            if field.name not in skip:
                assert getattr(by_bulk, field.attname) == getattr(by_services, field.attname), field.name
        assert (by_bulk.edited_at is None) == (by_services.edited_at is None)
        assert (by_bulk.deleted_at is None) == (by_services.deleted_at is None)
        assert by_bulk.reply_to_id == by_services.reply_to_id  # both answer the same parent
        for related in ("reaction_rows", "revisions"):
            mine = getattr(by_bulk, related)
            theirs = getattr(by_services, related)
            assert sorted(
                mine.values_list(*(("user_id", "emoji") if related == "reaction_rows" else ("body",)))
            ) == (
                sorted(
                    theirs.values_list(*(("user_id", "emoji") if related == "reaction_rows" else ("body",)))
                )
            )
    assert plans[0].mentions and Message.objects.get(client_id=plans[0].client_id).mentions == [carol.id]
    root.message.refresh_from_db()
    assert root.message.reply_count == 2  # one reply written by each path
    # The parent written before the bulk batch hears of its new reply, as with a live reply.
    latest = Event.objects.filter(object_id=root.message.id).order_by("-seq").first()
    assert latest.type == "message.updated" and latest.payload["message"]["reply_count"] == 2


def test_seeded_history_holds_every_kind_of_rich_message_consistently():
    seeding.seed_chat(seed=3, users=12, rooms=2, members=6, messages=1500, dms=1)
    messages = Message.objects.all()
    assert messages.filter(reply_to__isnull=False).count() > 30
    assert messages.exclude(mentions=[]).count() > 30
    assert (
        messages.filter(body_html__contains="<strong>").exists()
        and messages.filter(body_html__contains="<code>").exists()
    )
    assert messages.exclude(reactions=[]).count() > 60
    assert messages.filter(edited_at__isnull=False).count() > 10
    deleted = messages.filter(deleted_at__isnull=False)
    assert deleted.count() > 3 and not deleted.exclude(body="").exists()
    # Counts and summaries agree with the rows behind them.
    for message in messages.filter(reply_count__gt=0):
        assert message.reply_count == Message.objects.filter(reply_to=message).count()
    assert (
        sum(messages.values_list("reply_count", flat=True)) == messages.filter(reply_to__isnull=False).count()
    )
    for message in messages.exclude(reactions=[]):
        rows = sorted(message.reaction_rows.values_list("emoji", "user_id"))
        assert rows == sorted((r["emoji"], u) for r in message.reactions for u in r["users"])
    for message in messages.filter(edited_at__isnull=False, deleted_at__isnull=True):
        assert message.revisions.count() == 1
    # The newest event about each message carries its current state; no event holds a deleted body.
    for message in messages.select_related("sender"):
        latest = Event.objects.filter(object_id=message.id).order_by("-seq").first()
        parent = Message.objects.select_related("sender").filter(pk=message.reply_to_id).first()
        assert latest.payload == {"message": message_payload(message, parent=parent)}
    for message in deleted:
        assert not Event.objects.filter(object_id=message.id).exclude(payload__message__body="").exists()
