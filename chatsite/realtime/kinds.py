"""Every kind of event, declared once.

A declaration says what an event *is*; everything else reads it: recording checks that a stored
event is of a stored kind, the hub routes by audience and applies subscription effects,
catch-up replays the stored kinds, the HTML variant of a frame is rendered from the kind's
template, the seeding bulk path writes the same kinds, the web page gets the table (name →
what the page does with it) from the page itself, and a test keeps docs/websocket.md listing
every kind. Adding a kind is a declaration here plus the service that records it.

* **stored** kinds get a ``seq``, are written to the event log in the change's transaction and
  replayed by catch-up; their audience is a room (and the subject of a membership kind).
* **ephemeral** kinds (typing, presence) have no ``seq``, are never stored or replayed, take no
  lock and touch no database: they go to whoever is connected now.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Audience(StrEnum):
    ROOM = "room"  # every socket of every member of the event's room
    USERS = "users"  # every socket of the users named in the event
    # The sockets that have the event's room open (``room.open``): what is only worth showing
    # to someone looking at the room, so a big room's fan-out is bounded by who is looking.
    OPEN_ROOM = "open_room"
    # Every socket of the members of several rooms, each socket once (a presence change, told
    # to the person's rooms small enough to hear it).
    ROOMS = "rooms"


class Subscription(StrEnum):
    """What a membership kind does to its subject's sockets."""

    JOIN = "join"  # attached to the room before the event is delivered: they hear it
    LEAVE = "leave"  # detached after it is delivered: it is the last thing they hear


# Keys of the frame itself; a payload holding one would overwrite it.
RESERVED_KEYS = frozenset({"type", "seq", "html"})


class UnknownKind(KeyError):
    pass


@dataclass(frozen=True)
class EventKind:
    name: str
    stored: bool
    audience: Audience = Audience.ROOM
    # Template rendering the frame's ``html`` (for ``?html=1`` sockets) with the payload as its
    # context; rendered once per event, never per recipient.
    template: str | None = None
    subscription: Subscription | None = None
    # What the web page does with the frame (a handler name in static/js/chat.js).
    client: str = ""

    def frame(self, seq: int | None, payload: dict[str, Any]) -> dict[str, Any]:
        """The frame clients receive, live or replayed: ``{"type", "seq", **payload}``."""
        if clash := RESERVED_KEYS.intersection(payload):
            raise ValueError(f"{self.name}: payload key(s) {sorted(clash)} would overwrite the frame's own")
        return {"type": self.name, "seq": seq, **payload}


REGISTRY: dict[str, EventKind] = {}


def declare(name: str, **options: Any) -> EventKind:
    kind = EventKind(name=name, **options)
    if name in REGISTRY:
        raise ValueError(f"event kind {name!r} is declared twice")
    if kind.stored and kind.audience is not Audience.ROOM:
        raise ValueError(f"{name}: stored kinds are heard by a room (catch-up replays by room)")
    if kind.subscription is not None and not kind.stored:
        raise ValueError(f"{name}: a subscription change must be stored, or a reconnect would miss it")
    REGISTRY[name] = kind
    return kind


def get(name: str) -> EventKind:
    try:
        return REGISTRY[name]
    except KeyError:
        raise UnknownKind(name) from None


def stored_names() -> list[str]:
    return sorted(name for name, kind in REGISTRY.items() if kind.stored)


def client_table() -> dict[str, dict[str, Any]]:
    """What the web page needs to know of each kind (embedded in the page)."""
    return {
        name: {"stored": kind.stored, "client": kind.client, "subscription": kind.subscription}
        for name, kind in sorted(REGISTRY.items())
    }


# --- the kinds ----------------------------------------------------------------------------------

MESSAGE_NEW = declare("message.new", stored=True, template="messaging/events/message.html", client="message")
# An edit, a reaction, a new reply: the message's whole current state, replaced by id.
MESSAGE_UPDATED = declare(
    "message.updated", stored=True, template="messaging/events/message.html", client="message-update"
)
# The tombstone: the message without its body (every stored copy of the body is redacted).
MESSAGE_DELETED = declare(
    "message.deleted", stored=True, template="messaging/events/message.html", client="message-update"
)
MEMBER_JOINED = declare("member.joined", stored=True, subscription=Subscription.JOIN, client="membership")
MEMBER_LEFT = declare("member.left", stored=True, subscription=Subscription.LEAVE, client="membership")
MEMBER_REMOVED = declare("member.removed", stored=True, subscription=Subscription.LEAVE, client="membership")
# A member's role or mute changed (``muted_until`` null: not muted): their composer follows,
# and every member panel redraws.
MEMBER_UPDATED = declare("member.updated", stored=True, client="member-update")
# The room's settings (name, topic, description, read-only, archived) changed: members' pages update in place.
ROOM_UPDATED = declare("room.updated", stored=True, client="room-update")
# Ephemeral: "alice is typing" in a room, to the sockets that have it open but the typist's.
TYPING = declare("typing", stored=False, audience=Audience.OPEN_ROOM, client="typing")
# Ephemeral, to the reader's own sockets: how far they have read a room and what is left unread,
# so every tab and device updates its badges at once. The pointer itself is stored on the
# membership (one UPDATE); this event only announces it, so it needs no seq.
READ_UPDATED = declare("read.updated", stored=False, audience=Audience.USERS, client="read")
# Ephemeral: a person's presence changed (online, away, offline), to the members of their rooms
# of at most PRESENCE_PUSH_MAX_MEMBERS; coalesced by the hub (at most one per person every
# PRESENCE_PUSH_SECONDS). Bigger rooms read presence when their member panel opens.
PRESENCE = declare("presence.updated", stored=False, audience=Audience.ROOMS, client="presence")
# Ephemeral, to the sockets showing a room of at most RECEIPTS_MAX_MEMBERS: how far one member's
# sockets have received the room and (if they share it) read it, for "delivered" and "seen by".
RECEIPT_UPDATED = declare("receipt.updated", stored=False, audience=Audience.OPEN_ROOM, client="receipt")
# Ephemeral, to the person's own sockets: a site moderator muted their account site-wide
# (``muted_until``, ``mute_reason``), so every open composer of theirs disables at once. The mute
# itself is on the account (read when a page renders); a socket that was down hears nothing, and
# its page shows the mute on its next load while the server refuses its sends (``muted``).
ACCOUNT_MUTED = declare("account.muted", stored=False, audience=Audience.USERS, client="account-mute")
# Ephemeral, to the blocker's own sockets: whom they block now (``blocked``: user ids), so every
# tab and device collapses (or shows again) that person's messages at once.
BLOCKS_UPDATED = declare("blocks.updated", stored=False, audience=Audience.USERS, client="blocks")
