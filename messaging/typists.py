"""Typing over REST, for clients without a WebSocket (the event-stream fallback).

The socket's ``typing.start``/``typing.stop`` frames publish from the consumer, which knows its
rooms without a database trip; this is the same ephemeral event for a request, which checks
membership once. Nothing is stored.
"""

from __future__ import annotations

from django.core.cache import cache

from accounts.models import User
from accounts.serialization import user_brief
from chatsite.realtime import broadcasts, kinds
from rooms.selectors import membership_get

TYPING_MIN_INTERVAL = 2  # seconds between two typing events one socket (REST: one user) may cause in a room


def typing_announce(*, user: User, room_id: int, typing: bool) -> bool:
    """Tell the room's other members who show it that ``user`` started (or stopped) typing.
    RoomNotFound for a room the user is not in. Returns whether an event went out: a start
    within TYPING_MIN_INTERVAL of the last one, or a stop without a start, is dropped."""
    membership_get(user=user, room_id=room_id)
    key = f"typing:{user.id}:{room_id}"
    if typing and not cache.add(key, 1, timeout=TYPING_MIN_INTERVAL):
        return False
    if not typing and not cache.delete(key):
        return False
    broadcasts.ephemeral_publish(
        kinds.TYPING,
        {"room": room_id, "user": user_brief(user), "typing": typing},
        room_id=room_id,
        exclude_user=user.id,
    )
    return True
