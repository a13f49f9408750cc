"""JSON shapes of messages, shared by REST, WebSocket frames, catch-up and templates."""

from __future__ import annotations

from typing import Any

from accounts.models import User
from messaging.models import Message
from rooms.models import Membership, Room


def user_brief(user: User | None) -> dict[str, Any] | None:
    if user is None:
        return None
    return {"id": user.id, "username": user.username, "display_name": user.display_name}


def message_payload(message: Message) -> dict[str, Any]:
    """The message as every client sees it. ``sender`` must be loaded (select_related)."""
    return {
        "id": message.id,
        "room": message.room_id,
        "sender": user_brief(message.sender),
        "body": message.body,
        "created_at": message.created_at.isoformat(),
        "client_id": message.client_id,
        "edited_at": message.edited_at.isoformat() if message.edited_at else None,
        "reply_to": message.reply_to_id,
    }


def room_brief(room: Room) -> dict[str, Any]:
    return {"id": room.id, "name": room.name, "slug": room.slug, "kind": room.kind}


def member_payload(membership: Membership) -> dict[str, Any]:
    return {"room": room_brief(membership.room), "user": user_brief(membership.user), "role": membership.role}
