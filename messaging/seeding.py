"""Demo and load data. Used by ``manage.py seed_chat``; every write obeys the services' rules.

Small amounts go through the services themselves (``room_create``, ``room_join``, ``dm_open``,
``message_send``). Large amounts (load tests: up to millions of messages) take a bulk path that
writes exactly the rows the services would — each message with its ``message.new`` event whose
payload is ``message_payload(message)``, each membership with its ``member.joined`` event,
``Room.last_activity_at`` kept — in batches, under the publication lock, so ids, seqs and
timestamps still grow together. On PostgreSQL the batches are written with COPY.

Idempotent: users, rooms and DMs are looked up by name before being created; seeded messages
are numbered (``client_id = "seed-<n>"``) and a re-run writes only the ones still missing.
Deterministic: the same ``--seed`` and sizes give the same rooms, members, senders and bodies
in the same order (timestamps are real write times, as with the services).
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from chatsite.realtime import kinds
from chatsite.realtime.events import event_new, publication_order
from chatsite.realtime.models import Event
from messaging import changes, services
from messaging.markdown import render_html
from messaging.models import Message, Reaction
from messaging.serialization import message_payload
from rooms import services as room_services
from rooms.models import Membership, Room
from rooms.serialization import member_payload

DEMO_PASSWORD = "parley-demo"
DEMO_NAMES = ["alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy"]
FIRST = [
    "Ada",
    "Ben",
    "Cleo",
    "Dev",
    "Eli",
    "Fay",
    "Gus",
    "Hana",
    "Ines",
    "Jon",
    "Kai",
    "Lena",
    "Milo",
    "Nia",
]
LAST = ["Kim", "Ortiz", "Singh", "Novak", "Okafor", "Berg", "Rossi", "Tanaka", "Haddad", "Silva"]
WORDS = (
    "ship it today review the deploy looks good lunch later coffee anyone tests are green "
    "merge conflict again rebased fixed flaky build nice work standup in five minutes "
    "can you look at my branch the dashboard is slow profiling now found it cache miss "
    "thanks see you tomorrow weekend plans release notes drafted customer call went well"
).split()
SEED_CLIENT_PREFIX = "seed-"
# Below this many new rows the services write them one by one; above, the bulk path.
BULK_THRESHOLD = 200
BATCH = 5000

Progress = Callable[[int, int], None]


def _quiet(done: int, total: int) -> None:
    pass


def username_for(index: int) -> str:
    return DEMO_NAMES[index] if index < len(DEMO_NAMES) else f"user{index:05d}"


def seed_users(
    *, count: int, rng: random.Random, password: str = DEMO_PASSWORD, progress: Progress = _quiet
) -> list[User]:
    """Ensure users ``username_for(0..count-1)`` exist; idempotent. Returns them in index order.

    The password is hashed once and shared by the seeded accounts: hashing Argon2 per user
    would take minutes for large N and buys nothing for demo data.
    """
    names = [username_for(i) for i in range(count)]
    existing = {u.username: u for u in User.objects.filter(username__in=names)}
    hashed = make_password(password)
    for start in range(0, count, BATCH):
        new = []
        for i in range(start, min(count, start + BATCH)):
            name = names[i]
            # Drawn for every index, created or not, so the names do not depend on what exists.
            display = f"{rng.choice(FIRST)} {rng.choice(LAST)}" if i >= len(DEMO_NAMES) else name.title()
            if name not in existing:
                new.append(User(username=name, password=hashed, display_name=display))
        with transaction.atomic():
            User.objects.bulk_create(new, ignore_conflicts=True)
        progress(min(count, start + BATCH), count)
    by_name = {u.username: u for u in User.objects.filter(username__in=names)}
    return [by_name[name] for name in names]


# --- rooms and memberships -------------------------------------------------------------------


def room_ensure(*, creator: User, name: str, kind: str = Room.Kind.PUBLIC, description: str = "") -> Room:
    """The room called ``name`` (found by its slug), created by ``room_create`` if missing."""
    existing = Room.objects.filter(slug=slugify(name)[:80], kind=kind).first()
    if existing is not None:
        return existing
    return room_services.room_create(creator=creator, name=name, kind=kind, description=description)


def members_ensure(*, room: Room, users: Sequence[User]) -> int:
    """Make ``users`` members of ``room``; returns how many memberships were created."""
    have = set(Membership.objects.filter(room=room).values_list("user_id", flat=True))
    missing = [u for u in users if u.id not in have]
    if not missing:
        return 0
    if len(missing) <= BULK_THRESHOLD:
        owner = (
            Membership.objects.filter(room=room, role=Membership.Role.OWNER).select_related("user").first()
        )
        for user in missing:
            if room.kind == Room.Kind.PUBLIC:
                room_services.room_join(user=user, room_id=room.id)
            else:
                room_services.member_add(actor=owner.user, room_id=room.id, username=user.username)
        return len(missing)
    for start in range(0, len(missing), BATCH):
        memberships_bulk_insert(room=room, users=missing[start : start + BATCH])
    return len(missing)


def memberships_bulk_insert(*, room: Room, users: Sequence[User]) -> list[Membership]:
    """What ``room_join``/``member_add`` write for each user, in one transaction: the
    membership and its ``member.joined`` event (payload ``member_payload``)."""
    with publication_order(), transaction.atomic():
        memberships = Membership.objects.bulk_create(Membership(user=u, room=room) for u in users)
        for membership, user in zip(memberships, users, strict=True):
            membership.user, membership.room = user, room
        Event.objects.bulk_create(
            event_new(kinds.MEMBER_JOINED, room_id=room.id, payload=member_payload(m), subject_id=m.user_id)
            for m in memberships
        )
    return memberships


def dm_ensure(*, user: User, other: User) -> Room:
    room, _ = room_services.dm_open(user=user, usernames=[other.username])
    return room


# --- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedMessage:
    number: int  # position in the seeded stream; client_id is derived from it
    room_id: int
    sender: User
    body: str

    @property
    def client_id(self) -> str:
        return f"{SEED_CLIENT_PREFIX}{self.number:07d}"


def plan_messages(
    *, rooms: Sequence[tuple[Room, Sequence[User]]], count: int, rng: random.Random
) -> Iterator[PlannedMessage]:
    """The deterministic stream of seeded messages: room, sender (a member) and body of each."""
    for number in range(count):
        room, members = rooms[rng.randrange(len(rooms))]
        sender = members[rng.randrange(len(members))]
        words = rng.randint(3, 16)
        body = " ".join(rng.choice(WORDS) for _ in range(words)).capitalize()
        yield PlannedMessage(number=number, room_id=room.id, sender=sender, body=body)


def seeded_message_count() -> int:
    return Message.objects.filter(client_id__startswith=SEED_CLIENT_PREFIX).count()


def messages_bulk_insert(planned: Sequence[PlannedMessage]) -> list[Message]:
    """Write what ``message_send`` writes for each planned message, in one transaction.

    Each Message, its ``message.new`` Event with payload ``{"message": message_payload(m)}``
    and the room's ``last_activity_at``. Held under the publication lock so that no live
    event takes a seq in between; ids, seqs and ``created_at`` all grow in the same order.
    Nothing is broadcast: clients learn of seeded history by reading it (or by catch-up).
    """
    if not planned:
        return []
    with publication_order(), transaction.atomic():
        start = timezone.now()
        messages = [
            Message(
                room_id=p.room_id,
                sender=p.sender,
                body=p.body,
                body_html=render_html(p.body),  # seeded bodies mention no one
                client_id=p.client_id,
                created_at=start + timedelta(microseconds=i),
            )
            for i, p in enumerate(planned)
        ]
        if connection.vendor == "postgresql":
            _copy_messages(messages)
        else:
            messages = Message.objects.bulk_create(messages)
            for message, p in zip(messages, planned, strict=True):
                message.sender = p.sender
            Event.objects.bulk_create(
                event_new(
                    kinds.MESSAGE_NEW,
                    room_id=m.room_id,
                    payload={"message": message_payload(m)},
                    object_id=m.id,
                )
                for m in messages
            )
        last_activity: dict[int, datetime] = {}
        for message in messages:
            last_activity[message.room_id] = message.created_at
        for room_id, when in last_activity.items():
            Room.objects.filter(pk=room_id).update(last_activity_at=when)
    return messages


def _allocate(table: str, column: str, count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _copy_messages(messages: list[Message]) -> None:
    """PostgreSQL: ids and seqs taken from the tables' own sequences, rows sent by COPY."""
    message_table, event_table = Message._meta.db_table, Event._meta.db_table
    for message, message_id in zip(messages, _allocate(message_table, "id", len(messages)), strict=True):
        message.id = message_id
    seqs = _allocate(event_table, "seq", len(messages))
    raw = connection.connection  # the psycopg connection Django wraps
    with raw.cursor() as cursor:
        with cursor.copy(
            f"COPY {message_table} (id, room_id, sender_id, body, body_html, client_id, created_at,"
            " mentions, mentions_room, reply_count, reactions) FROM STDIN"
        ) as copy:
            for m in messages:
                copy.write_row(
                    (
                        m.id,
                        m.room_id,
                        m.sender_id,
                        m.body,
                        m.body_html,
                        m.client_id,
                        m.created_at,
                        "[]",
                        False,
                        0,
                        "[]",
                    )
                )
        with cursor.copy(
            f"COPY {event_table} (seq, room_id, type, subject_id, object_id, payload, created_at) FROM STDIN"
        ) as copy:
            for m, seq in zip(messages, seqs, strict=True):
                payload = json.dumps({"message": message_payload(m)})
                copy.write_row((seq, m.room_id, kinds.MESSAGE_NEW.name, None, m.id, payload, m.created_at))


def seed_messages(
    *,
    rooms: Sequence[tuple[Room, Sequence[User]]],
    count: int,
    rng: random.Random,
    progress: Progress = _quiet,
) -> int:
    """Ensure the first ``count`` messages of the seeded stream exist; returns how many were
    written. Few go through ``message_send``; many through ``messages_bulk_insert``."""
    done = seeded_message_count()
    missing = count - done
    if missing <= 0:
        progress(count, count)
        return 0
    stream = plan_messages(rooms=rooms, count=count, rng=rng)
    for _ in range(done):  # already written by an earlier run: skip, keeping the stream identical
        next(stream)
    if missing <= BULK_THRESHOLD:
        for p in stream:
            services.message_send(sender=p.sender, room_id=p.room_id, body=p.body, client_id=p.client_id)
        progress(count, count)
        return missing
    batch: list[PlannedMessage] = []
    for p in stream:
        batch.append(p)
        if len(batch) == BATCH:
            messages_bulk_insert(batch)
            done += len(batch)
            batch = []
            progress(done, count)
    if batch:
        messages_bulk_insert(batch)
        progress(count, count)
    return missing


@dataclass(frozen=True)
class SeedSummary:
    users: int
    rooms: list[Room]
    dms: list[Room]
    memberships_created: int
    messages_created: int


def seed_chat(
    *,
    users: int,
    rooms: int,
    members: int,
    messages: int,
    dms: int,
    seed: int,
    password: str = DEMO_PASSWORD,
    progress: Callable[[str], Progress] = lambda what: _quiet,
) -> SeedSummary:
    """Users, ``rooms`` public rooms of ``members`` members each, ``dms`` DMs, and ``messages``
    messages spread over all of them (senders are members). Idempotent and deterministic."""
    people = seed_users(
        count=max(users, members, 2), rng=random.Random(seed), password=password, progress=progress("users")
    )
    rng = random.Random(f"{seed}:rooms")
    created_members = 0
    targets: list[tuple[Room, Sequence[User]]] = []
    seeded_rooms: list[Room] = []
    report = progress("memberships")
    for index in range(rooms):
        wanted = sorted(rng.sample(range(len(people)), min(members, len(people))))
        owner = people[wanted[0]]
        room = room_ensure(creator=owner, name=f"load-{index + 1:04d}")
        roster = [people[i] for i in wanted]
        created_members += members_ensure(room=room, users=roster)
        seeded_rooms.append(room)
        targets.append((room, roster))
        report(index + 1, rooms)
    seeded_dms: list[Room] = []
    for _ in range(dms):
        a, b = rng.sample(range(len(people)), 2)
        room = dm_ensure(user=people[a], other=people[b])
        seeded_dms.append(room)
        targets.append((room, [people[min(a, b)], people[max(a, b)]]))
    written = 0
    if messages and targets:
        written = seed_messages(
            rooms=targets,
            count=messages,
            rng=random.Random(f"{seed}:messages"),
            progress=progress("messages"),
        )
    return SeedSummary(
        users=len(people),
        rooms=seeded_rooms,
        dms=seeded_dms,
        memberships_created=created_members,
        messages_created=written,
    )


DEMO_CHATTER = {
    "general": [
        (0, "Morning all! Parley is up."),
        (1, "Morning! The new room list looks great."),
        (2, "Standup in five minutes, same link as usual."),
        (3, "Can someone review my branch before lunch?"),
        (0, "On it."),
        (4, "Tests are green on main."),
    ],
    "random": [
        (1, "Coffee anyone?"),
        (5, "Always."),
        (2, "Weekend plans: hiking if it does not rain."),
    ],
    "design-private": [
        (0, "Sketches for the new composer are in the shared folder."),
        (2, "Love the rounded avatars."),
    ],
    "dm": [
        (0, "Hey Bob, got a minute to pair on the deploy script?"),
        (1, "Sure, give me ten."),
    ],
}


def seed_demo(*, users: int = 6, password: str = DEMO_PASSWORD) -> SeedSummary:
    """A small lively demo, entirely through the services: #general (the default room: accounts
    made later join it) and #random (everyone), a private room, a DM between the first two users,
    and a little history in each."""
    people = seed_users(count=max(users, 6), rng=random.Random(1), password=password)
    general = room_ensure(creator=people[0], name="general", description="Company-wide chat")
    room_services.rooms_set_default(room_ids=[general.id], is_default=True)
    random_room = room_ensure(creator=people[1], name="random", description="Off-topic")
    private = room_ensure(creator=people[0], name="design-private", kind=Room.Kind.PRIVATE)
    members_ensure(room=general, users=people)
    members_ensure(room=random_room, users=people)
    members_ensure(room=private, users=people[:3])
    dm = dm_ensure(user=people[0], other=people[1])
    written = 0
    for key, room in (("general", general), ("random", random_room), ("design-private", private), ("dm", dm)):
        for n, (who, body) in enumerate(DEMO_CHATTER[key]):
            result = services.message_send(
                sender=people[who], room_id=room.id, body=body, client_id=f"demo-{key}-{n}"
            )
            written += int(result.created)
    written += _demo_rich_messages(people=people, room=general)
    return SeedSummary(
        users=len(people),
        rooms=[general, random_room, private],
        dms=[dm],
        memberships_created=0,
        messages_created=written,
    )


def _demo_rich_messages(*, people: Sequence[User], room: Room) -> int:
    """What a lively room shows, through the services and idempotent: a reply (a thread), Markdown
    with a mention and a link, reactions, an edited message and a deleted one."""

    def sent(n: int) -> Message:
        return Message.objects.get(
            client_id=f"demo-general-{n}", sender=people[DEMO_CHATTER["general"][n][0]]
        )

    written = 0
    review = sent(3)
    for client_id, who, body, reply_to in (
        ("demo-rich-reply", 2, "I can take it after standup.", review.id),
        ("demo-rich-reply-2", 3, "Thanks! It's the *search* branch.", review.id),
        (
            "demo-rich-markdown",
            0,
            f"**Release notes** are drafted: @{people[1].username} can you check the `deploy` step?\n"
            "- new room list\n- faster history\n\nhttps://example.com/release-notes",
            None,
        ),
        ("demo-rich-oops", 5, "oops, wrong room", None),
    ):
        result = services.message_send(
            sender=people[who], room_id=room.id, body=body, client_id=client_id, reply_to=reply_to
        )
        written += int(result.created)
    for who, emoji, message in ((1, "👍", review), (2, "👍", review), (4, "🎉", sent(5)), (0, "❤️", sent(1))):
        if not Reaction.objects.filter(message=message, user=people[who], emoji=emoji).exists():
            changes.reaction_toggle(user=people[who], message_id=message.id, emoji=emoji)
    tests_green = sent(5)
    if tests_green.edited_at is None:
        changes.message_edit(
            actor=people[4], message_id=tests_green.id, body="Tests are green on main (all of them)."
        )
    oops = Message.objects.get(client_id="demo-rich-oops", sender=people[5])
    if oops.deleted_at is None:
        changes.message_delete(actor=people[5], message_id=oops.id)
    return written
