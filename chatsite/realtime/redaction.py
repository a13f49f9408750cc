"""Forgetting a deleted account in the event log.

Catch-up replays stored payloads as they were written, and they name people: a message's
sender, the sender of the message a reply quotes, a member who joined or left, who reacted.
When an account is deleted its messages stay, from a "deleted user"; so must every stored copy
of them. This layer knows the shapes only as data: a person is a ``{"id", "username", ...}``
object (``accounts.serialization.user_brief``), which becomes ``null`` exactly as a fresh payload
shows a person who is gone; a reactions entry (``{"emoji", "users", "names"}``) loses the
person, and disappears when nobody is left in it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from django.db.models import Q

from chatsite.realtime.models import Event

_BATCH = 500


def forget_person(value: Any, user_id: int) -> Any:
    """``value`` (a payload or part of one) with every trace of the person ``user_id`` taken out."""
    if isinstance(value, list):
        kept = [forget_person(item, user_id) for item in value]
        return [item for item in kept if not _empty_reaction(item)]
    if not isinstance(value, dict):
        return value
    if value.get("id") == user_id and "username" in value:
        return None
    users, names = value.get("users"), value.get("names")
    if isinstance(users, list) and isinstance(names, list) and user_id in users and len(users) == len(names):
        pairs = [(u, n) for u, n in zip(users, names, strict=True) if u != user_id]
        value = {**value, "users": [u for u, _ in pairs], "names": [n for _, n in pairs]}
    return {key: forget_person(item, user_id) for key, item in value.items()}


def _empty_reaction(item: Any) -> bool:
    return isinstance(item, dict) and "emoji" in item and item.get("users") == []


def events_forget_user(*, user_id: int, names: Iterable[str]) -> int:
    """Rewrite every stored event that names the person (by ``names``: their username and display
    name) so it no longer does; returns how many changed. Call inside the deletion's transaction.

    Candidates are found by their text (a person's name is in the payload as a JSON string, with
    or without escapes), then checked one by one, so a body that merely mentions the name is left
    as it is. Membership events about the person are found by their subject as well.
    """
    found = Q(subject_id=user_id)
    for name in {n for n in names if n}:
        for text in {json.dumps(name), json.dumps(name, ensure_ascii=False)}:
            found |= Q(payload__icontains=text)
    changed = []
    for event in Event.objects.filter(found).only("seq", "payload").iterator(chunk_size=_BATCH):
        payload = forget_person(event.payload, user_id)
        if payload != event.payload:
            event.payload = payload
            changed.append(event)
    Event.objects.bulk_update(changed, ["payload"], batch_size=_BATCH)
    return len(changed)
