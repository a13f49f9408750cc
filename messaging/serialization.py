"""JSON shapes of messages, shared by REST, WebSocket frames, catch-up and templates."""

from __future__ import annotations

from typing import Any

from messaging.models import Message

# The columns a message payload is made of, for reads that skip model instances (history).
MESSAGE_ROW_FIELDS = (
    "id",
    "room_id",
    "sender_id",
    "sender__username",
    "sender__display_name",
    "body",
    "created_at",
    "client_id",
    "edited_at",
    "reply_to_id",
)


def message_payload_from_row(row: dict[str, Any]) -> dict[str, Any]:
    """The message as every client sees it, from a ``values(*MESSAGE_ROW_FIELDS)`` row."""
    sender = None
    if row["sender_id"] is not None:
        sender = {
            "id": row["sender_id"],
            "username": row["sender__username"],
            "display_name": row["sender__display_name"],
        }
    return {
        "id": row["id"],
        "room": row["room_id"],
        "sender": sender,
        "body": row["body"],
        "created_at": row["created_at"].isoformat(),
        "client_id": row["client_id"],
        "edited_at": row["edited_at"].isoformat() if row["edited_at"] else None,
        "reply_to": row["reply_to_id"],
    }


def message_payload(message: Message) -> dict[str, Any]:
    """The message as every client sees it. ``sender`` must be loaded (select_related)."""
    sender = message.sender
    return message_payload_from_row(
        {
            "id": message.id,
            "room_id": message.room_id,
            "sender_id": sender.id if sender else None,
            "sender__username": sender.username if sender else None,
            "sender__display_name": sender.display_name if sender else None,
            "body": message.body,
            "created_at": message.created_at,
            "client_id": message.client_id,
            "edited_at": message.edited_at,
            "reply_to_id": message.reply_to_id,
        }
    )
