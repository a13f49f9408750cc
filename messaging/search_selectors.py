"""Message search: the searcher's messages matching a query of ``messaging.search``'s language,
scoped through their memberships like every read (``messaging.selectors``)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.utils import timezone

from accounts.models import User
from messaging import search
from messaging.exceptions import InvalidSearch
from messaging.markdown import render_plain
from messaging.models import Attachment, Message
from messaging.serialization import MESSAGE_ROW_FIELDS, message_payloads
from rooms.models import Membership, Room
from rooms.selectors import room_labels

SEARCH_PAGE_MAX = 50
SEARCH_OFFSET_MAX = 1000  # deeper than anyone pages; a narrower query finds it sooner
SEARCH_ORDERS = ("newest", "relevant")


@dataclass(frozen=True)
class SearchPage:
    results: list[dict[str, Any]]  # message payloads, each with "room" {id, name} and "highlight"
    has_more: bool
    next_before: int | None = None  # newest first: ``before`` for the next page (a keyset)


def _sender_ids(user: User, names: list[str]) -> list[int]:
    ids = []
    for name in names:
        if name.lower() == "me":
            ids.append(user.id)
            continue
        found = User.objects.filter(username__iexact=name).values_list("id", flat=True).first()
        if found is None:
            raise InvalidSearch(f"from: no one is called “{name}”.", field="q")
        ids.append(found)
    return ids


def _room_id(user: User, name: str) -> int:
    """The searcher's room called ``name`` (slug or name; ``@user``: the DM with them). A room
    they are not in answers exactly as one that does not exist."""
    mine = Room.objects.filter(memberships__user=user)
    if name.startswith("@"):
        other = User.objects.filter(username__iexact=name[1:]).values_list("id", flat=True).first()
        key = ",".join(str(i) for i in sorted({user.id, other or 0}))
        found = mine.filter(kind=Room.Kind.DIRECT, direct_key=key) if other else mine.none()
    else:
        found = mine.filter(Q(slug=name.lower()) | Q(name__iexact=name)).exclude(kind=Room.Kind.DIRECT)
    room_id = found.values_list("id", flat=True).first()
    if room_id is None:
        raise InvalidSearch(f"in: you have no room called “{name}”.", field="q")
    return room_id


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _mentions(user: User) -> RawSQL:
    if connection.vendor == "postgresql":
        sql, params = "messaging_message.mentions @> %s::jsonb", [json.dumps([user.id])]
    else:
        sql = "EXISTS (SELECT 1 FROM json_each(messaging_message.mentions) WHERE json_each.value = %s)"
        params = [user.id]
    return RawSQL(sql, params, output_field=BooleanField())


def _filtered(user: User, query: search.SearchQuery) -> QuerySet[Message]:
    """The searcher's live messages that pass the operators (not the words yet)."""
    member_of = Membership.objects.filter(user=user).values("room_id")
    qs = Message.objects.filter(room_id__in=member_of, deleted_at__isnull=True)
    for sender_id in _sender_ids(user, query.senders):
        qs = qs.filter(sender_id=sender_id)
    for name in query.rooms:
        qs = qs.filter(room_id=_room_id(user, name))
    if "link" in query.has:
        qs = qs.filter(Q(body__icontains="http://") | Q(body__icontains="https://"))
    if "file" in query.has:  # any attachment: files, images and voice messages
        qs = qs.filter(Exists(Attachment.objects.filter(message_id=OuterRef("id"))))
    if "image" in query.has:
        qs = qs.filter(
            Exists(Attachment.objects.filter(message_id=OuterRef("id"), kind=Attachment.Kind.IMAGE))
        )
    if query.mention:
        qs = qs.filter(Q(mentions_room=True) | Q(_mentions(user)))
    if query.on is not None:
        qs = qs.filter(
            created_at__gte=_day_start(query.on), created_at__lt=_day_start(query.on) + timedelta(1)
        )
    if query.before is not None:
        qs = qs.filter(created_at__lt=_day_start(query.before))
    if query.after is not None:
        qs = qs.filter(created_at__gte=_day_start(query.after) + timedelta(days=1))
    return qs


def _matching(qs: QuerySet[Message], query: search.SearchQuery, relevant: bool) -> QuerySet[Message]:
    """``qs`` narrowed to the query's words, ordered newest first or by relevance."""
    if not query.has_text:
        return qs.order_by("-id")
    if connection.vendor == "postgresql":
        condition, rank, params = search.postgres_condition(query)
        qs = qs.filter(RawSQL(condition, params, output_field=BooleanField()))
        if relevant:
            qs = _newest_matches(qs)
            return qs.annotate(search_rank=RawSQL(rank, params)).order_by("-search_rank", "-id")
        return qs.order_by("-id")
    positive, negative = search.sqlite_match(query)
    fts = search.FTS_TABLE
    matching = f"SELECT rowid FROM {fts} WHERE {fts} MATCH %s"
    if positive:
        qs = qs.filter(
            RawSQL(f"messaging_message.id IN ({matching})", [positive], output_field=BooleanField())
        )
    if negative:
        qs = qs.exclude(
            RawSQL(f"messaging_message.id IN ({matching})", [negative], output_field=BooleanField())
        )
    if relevant and positive:  # bm25: lower is better
        rank = f"(SELECT bm25({fts}) FROM {fts} WHERE {fts} MATCH %s AND rowid = messaging_message.id)"
        return (
            _newest_matches(qs).annotate(search_rank=RawSQL(rank, [positive])).order_by("search_rank", "-id")
        )
    return qs.order_by("-id")


RANK_WINDOW = 1000


def _newest_matches(qs: QuerySet[Message]) -> QuerySet[Message]:
    """The newest RANK_WINDOW messages of ``qs``: "most relevant" ranks these, so a common word
    costs a ranking of a thousand rows, not of every message holding it. Read as ids first:
    as a subquery, the raw SQL's table name would point at the outer query's table."""
    return Message.objects.filter(id__in=list(qs.order_by("-id").values_list("id", flat=True)[:RANK_WINDOW]))


def messages_search(
    *,
    user: User,
    text: str,
    order: str = "newest",
    limit: int = 20,
    offset: int = 0,
    before: int | None = None,
) -> SearchPage:
    """A page of the messages ``user`` may read that match ``text`` (messaging.search's
    language), newest or most relevant first (relevance ranks the newest RANK_WINDOW matches).
    Newest first pages by keyset: ``before`` (the previous page's ``next_before``) gives the
    matches older than that message, as cheap on page 1,000 as on page 1; ``offset`` pages
    either order, up to SEARCH_OFFSET_MAX. Deleted messages never match (their text is gone
    from the row and the index); edited ones match by what they say now. Raises InvalidSearch."""
    relevant = order == "relevant"
    if before is not None and relevant:
        raise InvalidSearch(
            "before: pages results newest first; most relevant pages by offset.", field="before"
        )
    query = search.parse(text)
    if query.is_empty:
        return SearchPage(results=[], has_more=False)
    limit = max(1, min(limit, SEARCH_PAGE_MAX))
    offset = max(0, min(offset, SEARCH_OFFSET_MAX))
    qs = _filtered(user, query)
    if before is not None:
        qs = qs.filter(id__lt=before)
    qs = _matching(qs, query, relevant=relevant)
    rows = list(qs.values(*MESSAGE_ROW_FIELDS)[offset : offset + limit + 1])
    payloads = message_payloads(rows[:limit])
    rooms = {room.id: room for room in Room.objects.filter(id__in={p["room"] for p in payloads})}
    labels = room_labels(rooms=list(rooms.values()), user=user)
    words = query.highlight_words()
    for payload in payloads:
        room = rooms[payload["room"]]
        payload["room_info"] = {"id": room.id, "name": labels[room.id], "kind": room.kind}
        payload["highlight"] = search.highlight(" ".join(render_plain(payload["body"]).split()), words)
    has_more = len(rows) > limit
    next_before = payloads[-1]["id"] if has_more and not relevant else None
    return SearchPage(results=payloads, has_more=has_more, next_before=next_before)
