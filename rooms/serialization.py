"""JSON shapes of rooms and memberships, shared by REST, WebSocket frames and catch-up."""

from __future__ import annotations

from typing import Any

from accounts.serialization import user_brief
from rooms.models import Membership, Room, RoomMute


def room_brief(room: Room) -> dict[str, Any]:
    return {"id": room.id, "name": room.name, "slug": room.slug, "kind": room.kind}


def member_payload(membership: Membership) -> dict[str, Any]:
    return {"room": room_brief(membership.room), "user": user_brief(membership.user), "role": membership.role}


def room_settings(room: Room) -> dict[str, Any]:
    """What ``room.updated`` carries: the room and every setting members see."""
    return {
        **room_brief(room),
        "topic": room.topic,
        "description": room.description,
        "read_only": room.read_only,
        "archived": room.archived_at is not None,
    }


def member_state(membership: Membership, mute: RoomMute | None) -> dict[str, Any]:
    """What ``member.updated`` carries: the member's role and mute (``muted_until`` null: none)."""
    return {
        **member_payload(membership),
        "muted_until": mute.until.isoformat() if mute is not None else None,
        "mute_reason": mute.reason if mute is not None else "",
    }
