"""JSON shapes of messages, shared by REST, WebSocket frames, catch-up and templates.

A message payload is everything a client shows of a message in any state — new, edited,
deleted (a tombstone: no body), with its reactions, reply count, mentions and, for a reply, a
short preview of the message it answers — so one partial renders it everywhere and a client
replaces its copy by id.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.urls import reverse

from accounts.models import avatar_url_of
from messaging.markdown import render_plain
from messaging.models import Message

PREVIEW_CHARS = 120

# The columns a message payload is made of, for reads that skip model instances (history).
MESSAGE_ROW_FIELDS = (
    "id",
    "room_id",
    "sender_id",
    "sender__username",
    "sender__display_name",
    "sender__avatar",
    "body",
    "body_html",
    "created_at",
    "client_id",
    "edited_at",
    "deleted_at",
    "reply_to_id",
    "reply_count",
    "reactions",
    "mentions",
    "mentions_room",
    "attachments",
)


def _sender(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["sender_id"] is None:
        return None
    return {
        "id": row["sender_id"],
        "username": row["sender__username"],
        "display_name": row["sender__display_name"],
        # Rendered into the message once for every receiver: the author's picture, by URL.
        "avatar_url": avatar_url_of(row["sender__avatar"]),
    }


def reply_preview_from_row(row: dict[str, Any] | None, reply_to_id: int) -> dict[str, Any]:
    """What a reply shows of the message it answers: who, and the start of what they said (or
    that it was deleted, or is gone)."""
    if row is None:
        return {"id": reply_to_id, "sender": None, "excerpt": "", "deleted": True}
    deleted = row["deleted_at"] is not None
    body = "" if deleted else " ".join(render_plain(row["body"]).split())
    excerpt = body if len(body) <= PREVIEW_CHARS else body[: PREVIEW_CHARS - 1] + "…"
    return {"id": row["id"], "sender": _sender(row), "excerpt": excerpt, "deleted": deleted}


def message_payload_from_row(row: dict[str, Any], parent: dict[str, Any] | None = None) -> dict[str, Any]:
    """The message as every client sees it, from a ``values(*MESSAGE_ROW_FIELDS)`` row (and, for
    a reply, its parent's row)."""
    deleted = row["deleted_at"] is not None
    return {
        "id": row["id"],
        "room": row["room_id"],
        "sender": _sender(row),
        "body": "" if deleted else row["body"],
        "body_html": "" if deleted else row["body_html"],
        "created_at": row["created_at"].isoformat(),
        "client_id": row["client_id"],
        "edited_at": row["edited_at"].isoformat() if row["edited_at"] else None,
        "deleted": deleted,
        "reply_to": row["reply_to_id"],
        "reply_preview": reply_preview_from_row(parent, row["reply_to_id"]) if row["reply_to_id"] else None,
        "reply_count": row["reply_count"],
        "reactions": [] if deleted else row["reactions"],
        "mentions": [] if deleted else row["mentions"],
        "mentions_room": False if deleted else row["mentions_room"],
        "attachments": [] if deleted else [attachment_payload(a) for a in row["attachments"]],
    }


def attachment_payload(summary: dict[str, Any]) -> dict[str, Any]:
    """One attachment as clients see it: its summary and our own access-checked URLs (stable:
    a replayed event's links still work; S3 links are made per request by the view)."""
    url = reverse("attachment", kwargs={"attachment_id": summary["id"], "name": summary["name"]})
    thumbnail = summary.get("has_thumbnail")
    return {
        **{k: v for k, v in summary.items() if k != "has_thumbnail"},
        "url": url,
        "thumbnail_url": reverse("attachment-thumbnail", args=[summary["id"]]) if thumbnail else None,
    }


def message_row(message: Message) -> dict[str, Any]:
    """A model instance as a ``MESSAGE_ROW_FIELDS`` row. ``sender`` must be loaded."""
    sender = message.sender
    return {
        "id": message.id,
        "room_id": message.room_id,
        "sender_id": sender.id if sender else None,
        "sender__username": sender.username if sender else None,
        "sender__display_name": sender.display_name if sender else None,
        "sender__avatar": sender.avatar if sender else None,
        "body": message.body,
        "body_html": message.body_html,
        "created_at": message.created_at,
        "client_id": message.client_id,
        "edited_at": message.edited_at,
        "deleted_at": message.deleted_at,
        "reply_to_id": message.reply_to_id,
        "reply_count": message.reply_count,
        "reactions": message.reactions,
        "mentions": message.mentions,
        "mentions_room": message.mentions_room,
        "attachments": message.attachments,
    }


def parent_rows(reply_to_ids: Iterable[int | None]) -> dict[int, dict[str, Any]]:
    """The rows of the messages these replies answer, in one query."""
    ids = {i for i in reply_to_ids if i is not None}
    if not ids:
        return {}
    return {row["id"]: row for row in Message.objects.filter(id__in=ids).values(*MESSAGE_ROW_FIELDS)}


def message_payload(message: Message, parent: Message | None = None) -> dict[str, Any]:
    """The message as every client sees it. ``sender`` must be loaded; for a reply, pass its
    parent (``sender`` loaded), or it is read here."""
    if message.reply_to_id is not None and parent is None:
        parent = Message.objects.select_related("sender").filter(pk=message.reply_to_id).first()
    return message_payload_from_row(message_row(message), message_row(parent) if parent is not None else None)


def message_payloads(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Payloads of several rows, their parents read in one query."""
    parents = parent_rows(row["reply_to_id"] for row in rows)
    return [message_payload_from_row(row, parents.get(row["reply_to_id"])) for row in rows]
