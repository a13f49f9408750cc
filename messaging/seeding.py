"""Demo and load data. Used by ``manage.py seed_chat``; every write obeys the services' rules.

Small amounts go through the services themselves (``room_create``, ``room_join``, ``dm_open``,
``message_send``, ``reaction_toggle``, ``message_edit``, ``message_delete``). Large amounts (load
tests: up to millions of messages) take a bulk path that writes the rows the services leave
behind — each message in its final state (replies, mentions, Markdown, reactions with their
rows, an edit's revision, tombstones) with its ``message.new`` event whose payload is
``message_payload(message)``, reply counts, each membership with its ``member.joined`` event,
``Room.last_activity_at`` kept — in batches, under the publication lock, so ids, seqs and
timestamps still grow together. On PostgreSQL the batches are written with COPY. The one
difference: a bulk-written message's edits and reactions are not separate ``message.updated``
events (history that old has no earlier states to replay).

Idempotent: users, rooms and DMs are looked up by name before being created; seeded messages
are numbered (``client_id = "seed-<n>"``) and a re-run writes only the ones still missing.
Deterministic: the same ``--seed`` and sizes give the same rooms, members, senders and bodies
in the same order (timestamps are real write times, as with the services).
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import F, Model
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import User
from chatsite.realtime import kinds
from chatsite.realtime.events import event_new, publication_order
from chatsite.realtime.models import Event
from messaging import changes, reads, services
from messaging.markdown import render_html
from messaging.models import Message, MessageRevision, Reaction
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
    membership (read up to the room's newest message) and its ``member.joined`` event (payload
    ``member_payload``)."""
    with publication_order(), transaction.atomic():
        newest = Room.objects.filter(pk=room.pk).values_list("last_message_id", flat=True)[0]
        memberships = Membership.objects.bulk_create(
            Membership(user=u, room=room, last_read_message_id=newest) for u in users
        )
        for membership, user in zip(memberships, users, strict=True):
            membership.user, membership.room = user, room
        Event.objects.bulk_create(
            event_new(kinds.MEMBER_JOINED, room_id=room.id, payload=member_payload(m), subject_id=m.user_id)
            for m in memberships
        )
    return memberships


def group_dm_ensure(*, people: Sequence[User], name: str) -> Room:
    """The group conversation of ``people`` (the first starts it), named ``name`` once."""
    room, _ = room_services.dm_open(user=people[0], usernames=[p.username for p in people[1:]])
    if not room.named:
        room = room_services.room_update(actor=people[0], room_id=room.id, name=name)
    return room


def dm_ensure(*, user: User, other: User) -> Room:
    room, _ = room_services.dm_open(user=user, usernames=[other.username])
    return room


# --- messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedMessage:
    number: int  # position in the seeded stream; client_id is derived from it
    room_id: int
    sender: User
    body: str  # as it reads now (after its edit, if it had one)
    reply_to: int | None = None  # number of an earlier planned message in the same room
    mentions: tuple[User, ...] = ()  # members the body names with "@username"
    reactions: tuple[tuple[str, tuple[User, ...]], ...] = ()  # emoji → who, in order of first use
    edited_from: str | None = None  # the body before its one edit
    deleted: bool = False

    @property
    def client_id(self) -> str:
        return client_id_for(self.number)


def client_id_for(number: int) -> str:
    return f"{SEED_CLIENT_PREFIX}{number:07d}"


# How often the seeded stream holds each kind of rich message (the rest is plain text).
RICH = {"reply": 0.06, "mention": 0.05, "markdown": 0.08, "reactions": 0.10, "edited": 0.03, "deleted": 0.01}
SEED_EMOJI = ("👍", "🎉", "❤️", "😄", "👀", "🚀")
RECENT = 50  # replies answer one of the room's last RECENT messages


def _markdown(words: list[str], rng: random.Random) -> str:
    first, rest = words[0], " ".join(words[1:])
    return rng.choice(
        (
            f"**{first}** {rest}",
            f"_{first}_ {rest}",
            f"`{first}` {rest}",
            f"> {first} {rest}",
            f"- {first}\n- {rest}",
            f"{first} {rest}: https://example.com/{first}",
            f"```\n{first} {rest}\n```",
        )
    )


def plan_messages(
    *, rooms: Sequence[tuple[Room, Sequence[User]]], count: int, rng: random.Random
) -> Iterator[PlannedMessage]:
    """The deterministic stream of seeded messages: room, sender (a member), body, and the rich
    parts a lively history has (replies, mentions, Markdown, reactions, edits, deletions)."""
    recent: dict[int, list[int]] = {}
    for number in range(count):
        room, members = rooms[rng.randrange(len(rooms))]
        sender = members[rng.randrange(len(members))]
        words = [rng.choice(WORDS) for _ in range(rng.randint(3, 16))]
        body = " ".join(words).capitalize()
        rolls = {kind: rng.random() < share for kind, share in RICH.items()}
        earlier = recent.setdefault(room.id, [])
        reply_to = rng.choice(earlier) if rolls["reply"] and earlier else None
        others = [m for m in members if m.pk != sender.pk]
        mentions: tuple[User, ...] = ()
        if rolls["mention"] and others:
            mentions = (others[rng.randrange(len(others))],)
            body = f"@{mentions[0].username} {body}"
        elif rolls["markdown"]:
            body = _markdown(words, rng)
        reactions: tuple[tuple[str, tuple[User, ...]], ...] = ()
        if rolls["reactions"]:
            symbols = rng.sample(SEED_EMOJI, rng.randint(1, 3))
            reactions = tuple(
                (symbol, tuple(rng.sample(list(members), rng.randint(1, min(4, len(members))))))
                for symbol in symbols
            )
        edited_from = None
        if rolls["edited"]:
            edited_from, body = body, f"{body} (edited)"
        yield PlannedMessage(
            number=number, room_id=room.id, sender=sender, body=body, reply_to=reply_to, mentions=mentions,
            reactions=reactions, edited_from=edited_from, deleted=rolls["deleted"],
        )  # fmt: skip
        if not rolls["deleted"]:  # nobody answers a deleted message (message_send refuses to)
            earlier.append(number)
            del earlier[:-RECENT]


def _send_planned(p: PlannedMessage) -> None:
    """A planned message through the services, as people would have made it: sent (as a reply),
    reacted to, edited, deleted."""
    reply_to = None
    if p.reply_to is not None:
        reply_to = (
            Message.objects.filter(client_id=client_id_for(p.reply_to)).values_list("pk", flat=True).first()
        )
    first_body = p.edited_from if p.edited_from is not None else p.body
    message = services.message_send(
        sender=p.sender, room_id=p.room_id, body=first_body, client_id=p.client_id, reply_to=reply_to
    ).message
    for symbol, who in p.reactions:
        for user in who:
            changes.reaction_toggle(user=user, message_id=message.id, emoji=symbol)
    if p.edited_from is not None:
        changes.message_edit(actor=p.sender, message_id=message.id, body=p.body)
    if p.deleted:
        changes.message_delete(actor=p.sender, message_id=message.id, via="command")


def seeded_message_count() -> int:
    return Message.objects.filter(client_id__startswith=SEED_CLIENT_PREFIX).count()


def _planned_message(p: PlannedMessage, created_at: datetime) -> Message:
    """The row the services leave behind once the planned message was sent, reacted to,
    edited and deleted as planned."""
    message = Message(
        room_id=p.room_id,
        sender=p.sender,
        client_id=p.client_id,
        created_at=created_at,
    )
    if p.edited_from is not None:
        message.edited_at = created_at + timedelta(seconds=30)
    if p.deleted:
        message.deleted_at = created_at + timedelta(seconds=60)
        return message  # a tombstone: no text, mentions or reactions (as message_delete leaves it)
    message.body = p.body
    message.body_html = render_html(p.body, mentions={u.username.lower(): u.pk for u in p.mentions})
    message.mentions = sorted(u.pk for u in p.mentions)
    message.reactions = changes.reactions_summary(
        (symbol, u.pk, u.username, u.display_name) for symbol, who in p.reactions for u in who
    )
    return message


def messages_bulk_insert(planned: Sequence[PlannedMessage]) -> list[Message]:
    """Write, in one transaction, what the services leave behind for each planned message.

    Each Message in its final state (reply link, mentions, reactions summary and Reaction rows,
    edit revision, or tombstone), its ``message.new`` Event with payload
    ``{"message": message_payload(m)}`` (the final state: seeded history has no earlier states
    to replay), the reply counts of the messages answered (a ``message.updated`` for those
    written by an earlier batch, as a live reply records) and the room's ``last_activity_at``
    and ``last_message_id``.
    Held under the publication lock so that no live event takes a seq in between; ids, seqs and
    ``created_at`` all grow in the same order. Nothing is broadcast.
    """
    if not planned:
        return []
    with publication_order(), transaction.atomic():
        start = timezone.now()
        messages = [_planned_message(p, start + timedelta(microseconds=i)) for i, p in enumerate(planned)]
        postgres = connection.vendor == "postgresql"
        if postgres:
            ids = _allocate(Message._meta.db_table, "id", len(messages))
            for message, message_id in zip(messages, ids, strict=True):
                message.id = message_id
        else:
            messages = Message.objects.bulk_create(messages)
            for message, p in zip(messages, planned, strict=True):
                message.sender = p.sender
        parents, earlier = _link_replies(planned, messages)
        if not postgres:
            Message.objects.bulk_update(
                [m for m in messages if m.reply_to_id or m.reply_count], ["reply_to", "reply_count"]
            )
        payloads = [{"message": message_payload(m, parent=parents.get(m.reply_to_id))} for m in messages]
        if postgres:
            _copy_messages(messages, payloads)
        else:
            Event.objects.bulk_create(
                event_new(kinds.MESSAGE_NEW, room_id=m.room_id, payload=payload, object_id=m.id)
                for m, payload in zip(messages, payloads, strict=True)
            )
        _write_extras(planned, messages)
        for parent_id, count in sorted(earlier.items()):
            Message.objects.filter(pk=parent_id).update(reply_count=F("reply_count") + count)
        Event.objects.bulk_create(
            event_new(
                kinds.MESSAGE_UPDATED,
                room_id=m.room_id,
                payload={"message": message_payload(m)},
                object_id=m.id,
            )
            for m in Message.objects.select_related("sender").filter(pk__in=earlier).order_by("pk")
        )
        last_activity: dict[int, tuple[datetime, int]] = {}
        for message in messages:
            last_activity[message.room_id] = (message.created_at, message.id)
        for room_id, (when, last_id) in last_activity.items():
            Room.objects.filter(pk=room_id).update(last_activity_at=when, last_message_id=last_id)
    return messages


def _link_replies(
    planned: Sequence[PlannedMessage], messages: Sequence[Message]
) -> tuple[dict[int, Message], Counter[int]]:
    """Point each planned reply at its parent (in this batch or written before) and count the
    replies each parent gets. Returns (parents by id, replies to parents from earlier batches)."""
    by_number = {p.number: m for p, m in zip(planned, messages, strict=True)}
    outside = {p.reply_to for p in planned if p.reply_to is not None and p.reply_to not in by_number}
    found = {
        m.client_id: m
        for m in Message.objects.select_related("sender").filter(
            client_id__in=[client_id_for(n) for n in outside]
        )
    }
    parents: dict[int, Message] = {}
    earlier: Counter[int] = Counter()
    for p, message in zip(planned, messages, strict=True):
        if p.reply_to is None:
            continue
        parent = by_number.get(p.reply_to) or found.get(client_id_for(p.reply_to))
        if parent is None:  # cannot happen for a stream seeded in order; stay a plain message
            continue
        message.reply_to_id = parent.id
        parents[parent.id] = parent
        if p.reply_to in by_number:
            parent.reply_count += 1
        else:
            earlier[parent.id] += 1
    return parents, earlier


def _write_extras(planned: Sequence[PlannedMessage], messages: Sequence[Message]) -> None:
    """The Reaction rows behind each reactions summary, and each edited message's revision."""
    reactions, revisions = [], []
    for p, message in zip(planned, messages, strict=True):
        if p.deleted:
            continue  # deleting takes its reactions and revisions with it
        for symbol, who in p.reactions:
            reactions += [Reaction(message_id=message.id, user=user, emoji=symbol) for user in who]
        if p.edited_from is not None and message.edited_at is not None:
            revisions.append(
                MessageRevision(
                    message_id=message.id, body=p.edited_from, written_at=message.created_at,
                    replaced_at=message.edited_at,
                )
            )  # fmt: skip
    Reaction.objects.bulk_create(reactions, batch_size=BATCH)
    MessageRevision.objects.bulk_create(revisions, batch_size=BATCH)


def _allocate(table: str, column: str, count: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
            [table, column, count],
        )
        return sorted(row[0] for row in cursor.fetchall())


def _copy_messages(messages: list[Message], payloads: list[dict]) -> None:
    """PostgreSQL: rows sent by COPY (ids already taken from the table's sequence; seqs here)."""
    message_table, event_table = Message._meta.db_table, Event._meta.db_table
    seqs = _allocate(event_table, "seq", len(messages))
    raw = connection.connection  # the psycopg connection Django wraps
    with raw.cursor() as cursor:
        with cursor.copy(
            f"COPY {message_table} (id, room_id, sender_id, body, body_html, client_id, created_at, edited_at,"
            " deleted_at, reply_to_id, mentions, mentions_room, reply_count, reactions) FROM STDIN"
        ) as copy:
            for m in messages:
                copy.write_row(
                    (
                        m.id, m.room_id, m.sender_id, m.body, m.body_html, m.client_id, m.created_at,
                        m.edited_at, m.deleted_at, m.reply_to_id, json.dumps(m.mentions), m.mentions_room,
                        m.reply_count, json.dumps(m.reactions),
                    )
                )  # fmt: skip
        with cursor.copy(
            f"COPY {event_table} (seq, room_id, type, subject_id, object_id, payload, created_at) FROM STDIN"
        ) as copy:
            for m, seq, payload in zip(messages, seqs, payloads, strict=True):
                copy.write_row(
                    (seq, m.room_id, kinds.MESSAGE_NEW.name, None, m.id, json.dumps(payload), m.created_at)
                )


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
            _send_planned(p)
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
    _analyze(Message, Event, Membership, Reaction)
    return missing


def _analyze(*models: type[Model]) -> None:
    """Refresh the planner's statistics after a bulk load, so the first queries are planned for
    the tables as they now are (with no statistics, PostgreSQL guessed a few thousand rows and
    chose plans a hundred times slower; autovacuum would correct that only minutes later)."""
    with connection.cursor() as cursor:
        for model in models:
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


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
    "group-dm": [
        (2, "Release crew: cut the branch at four?"),
        (0, "Works for me."),
        (1, "I'll write the notes."),
    ],
}


def seed_demo(*, users: int = 6, password: str = DEMO_PASSWORD) -> SeedSummary:
    """A small lively demo, entirely through the services: #general (the default room: accounts
    made later join it) and #random (everyone), a private room, a DM between the first two users,
    a named group conversation of the first three, and a little history in each."""
    people = seed_users(count=max(users, 6), rng=random.Random(1), password=password)
    general = room_ensure(creator=people[0], name="general", description="Company-wide chat")
    room_services.rooms_set_default(room_ids=[general.id], is_default=True)
    random_room = room_ensure(creator=people[1], name="random", description="Off-topic")
    private = room_ensure(creator=people[0], name="design-private", kind=Room.Kind.PRIVATE)
    members_ensure(room=general, users=people)
    members_ensure(room=random_room, users=people)
    members_ensure(room=private, users=people[:3])
    dm = dm_ensure(user=people[0], other=people[1])
    group = group_dm_ensure(people=people[:3], name="Release crew")
    written = 0
    for key, room in (
        ("general", general),
        ("random", random_room),
        ("design-private", private),
        ("dm", dm),
        ("group-dm", group),
    ):
        for n, (who, body) in enumerate(DEMO_CHATTER[key]):
            result = services.message_send(
                sender=people[who], room_id=room.id, body=body, client_id=f"demo-{key}-{n}"
            )
            written += int(result.created)
    written += _demo_rich_messages(people=people, room=general)
    written += _demo_awareness(people=people, general=general, random_room=random_room, dm=dm)
    return SeedSummary(
        users=len(people),
        rooms=[general, random_room, private],
        dms=[dm, group],
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
        changes.message_delete(actor=people[5], message_id=oops.id, via="command")
    return written


def _demo_awareness(*, people: Sequence[User], general: Room, random_room: Room, dm: Room) -> int:
    """Read state the demo login finds, through the services and idempotent (pointers only move
    forward): everyone else has read #general, so the demo user's messages there show "seen";
    #random holds two unread messages, one mentioning the demo user (the mention badge), and
    notifies only on mentions; the DM's reply is unread."""
    me = people[0]
    mention = services.message_send(
        sender=people[3],
        room_id=random_room.id,
        body=f"@{me.username} are you coming on the hike?",
        client_id="demo-aware-mention",
    )

    def newest(room: Room) -> int:
        return Message.objects.filter(room=room).order_by("-id").values_list("id", flat=True)[0]

    for person in people[1:]:
        reads.read_mark(user=person, room_id=general.id, message_id=newest(general))
    reads.read_mark(user=me, room_id=general.id, message_id=newest(general))
    first_random = Message.objects.filter(room=random_room).order_by("id").values_list("id", flat=True)[1]
    reads.read_mark(user=me, room_id=random_room.id, message_id=first_random)
    first_dm = Message.objects.filter(room=dm).order_by("id").values_list("id", flat=True)[0]
    reads.read_mark(user=me, room_id=dm.id, message_id=first_dm)
    reads.read_mark(user=people[1], room_id=dm.id, message_id=newest(dm))
    room_services.membership_notify_set(user=me, room_id=random_room.id, level=Membership.Notify.MENTIONS)
    return int(mention.created)
