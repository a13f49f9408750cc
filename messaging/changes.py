"""Services that change a message already sent: edit, delete, react.

Each checks permission, writes, and records an event carrying the message's whole current
state (``message.updated`` / ``message.deleted``), which every open page applies by replacing
its copy by id and which catch-up replays, so a page that was offline ends in the final state.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from accounts.models import ModerationAction, User
from accounts.services import clean_reason, moderation_record, moderator_check
from chatsite.realtime import kinds
from chatsite.realtime.events import event_writer, events_record_many
from chatsite.realtime.models import Event
from chatsite.validation import InvalidNumber, parse_id
from messaging.emoji import clean_emoji
from messaging.exceptions import (
    DeleteNotAllowed,
    EditNotAllowed,
    EditWindowClosed,
    MessageDeleted,
    MessageNotFound,
)
from messaging.models import Message, MessageRevision, Reaction
from messaging.serialization import message_payload
from messaging.services import clean_body, mentions_resolve, message_event
from messaging.uploads import attachments_remove
from rooms.models import Membership
from rooms.selectors import mute_active, post_refusal


def message_for_member(*, user: User, message_id: object, lock: bool = False) -> tuple[Message, Membership]:
    """The message and the user's membership of its room, or MessageNotFound — the same answer
    for a message that does not exist and one in a room the user is not in."""
    try:
        message_id = parse_id(message_id, label="message", minimum=1)
    except InvalidNumber:
        raise MessageNotFound() from None
    messages = Message.objects.select_related("sender")
    if lock:
        messages = messages.select_for_update(of=("self",))
    message = messages.filter(pk=message_id).first()
    membership = (
        Membership.objects.filter(user=user, room_id=message.room_id).first() if message is not None else None
    )
    if message is None or membership is None:
        raise MessageNotFound()
    return message, membership


def _may_post(membership: Membership) -> None:
    """Raise why the member may not post, react or edit in the room now (muted, read-only,
    archived), if they may not."""
    refusal = post_refusal(
        membership=membership, mute=mute_active(room_id=membership.room_id, user_id=membership.user_id)
    )
    if refusal is not None:
        raise refusal


@event_writer
def message_edit(*, actor: User, message_id: object, body: object) -> Message:
    """Replace the text of one's own message, keeping the previous version as a revision.

    Within MESSAGE_EDIT_WINDOW seconds of sending (negative: no limit; 0: editing is off).
    Mentions and the rendered HTML are worked out again. Records ``message.updated``."""
    message, membership = message_for_member(user=actor, message_id=message_id, lock=True)
    if message.deleted_at is not None:
        raise MessageDeleted()
    if message.sender_id != actor.id:
        raise EditNotAllowed()
    _may_post(membership)
    window = settings.MESSAGE_EDIT_WINDOW
    if window == 0 or (window > 0 and timezone.now() - message.created_at > timedelta(seconds=window)):
        raise EditWindowClosed()
    text = clean_body(body, allow_blank=bool(message.attachments))  # a caption may go, the files stay
    if text == message.body:
        return message  # nothing changed: no revision, no event
    mentions = mentions_resolve(sender=actor, room_id=message.room_id, body=text)
    now = timezone.now()
    MessageRevision.objects.create(
        message=message,
        body=message.body,
        written_at=message.edited_at or message.created_at,
        replaced_at=now,
    )
    message.body, message.body_html, message.edited_at = text, mentions.html, now
    message.mentions, message.mentions_room = mentions.user_ids, mentions.room
    message.save(update_fields=["body", "body_html", "edited_at", "mentions", "mentions_room"])
    events_record_many([message_event(kinds.MESSAGE_UPDATED, message), *_replies_updated(message)])
    return message


@event_writer
def message_delete(*, actor: User, message_id: object, via: str, reason: object = "") -> Message:
    """Delete a message: its author, or an owner or admin of its room (a moderation, which the
    moderation log keeps, with ``reason``).

    What stays is a tombstone (who and when, "message deleted"); the text is gone from the row,
    its revisions, its reactions, its files (from storage, once the delete commits) and every stored event that carried it — its own events and
    the reply previews of messages answering it. Records ``message.deleted``. Deleting a
    deleted message changes nothing."""
    message, membership = message_for_member(user=actor, message_id=message_id, lock=True)
    if message.deleted_at is not None:
        return message
    moderated = message.sender_id != actor.id
    if moderated and not membership.can_manage:
        raise DeleteNotAllowed()
    tombstone(message, moderator=actor if moderated else None, reason=clean_reason(reason), via=via)
    return message


def tombstone(message: Message, *, moderator: User | None, reason: str, via: str) -> None:
    """Redact the message everywhere it is stored and record ``message.deleted``; a deletion by
    someone other than its author goes in the moderation log. The one delete path: users,
    room moderators, site moderators and retention (``messaging.retention``) all end here.
    Call inside an ``event_writer``."""
    if moderator is not None:
        moderation_record(
            actor=moderator,
            action=ModerationAction.MESSAGE_DELETE,
            via=via,
            target_user_id=message.sender_id,
            room_id=message.room_id,
            message_id=message.id,
            reason=reason,
        )
    message.deleted_at = timezone.now()
    message.body = message.body_html = ""
    message.mentions, message.mentions_room, message.reactions = [], False, []
    message.attachments = []
    message.save(
        update_fields=[
            "deleted_at",
            "body",
            "body_html",
            "mentions",
            "mentions_room",
            "reactions",
            "attachments",
        ]
    )
    MessageRevision.objects.filter(message=message).delete()
    attachments_remove(message=message)
    Reaction.objects.filter(message=message).delete()
    _redact_log(message)
    events_record_many([message_event(kinds.MESSAGE_DELETED, message), *_replies_updated(message)])


@event_writer
def message_delete_by_moderator(*, actor: User, message_id: int, reason: object, via: str) -> Message:
    """A site moderator deletes any message (the admin's report queue), in any room — the same
    tombstone and live event as ``message_delete``, with a required reason in the moderation
    log. Staff status alone is not enough (``moderator_check``)."""
    moderator_check(actor)
    text = clean_reason(reason, required=True)
    message = (
        Message.objects.select_related("sender").select_for_update(of=("self",)).filter(pk=message_id).first()
    )
    if message is None:
        raise MessageNotFound()
    if message.deleted_at is not None:
        raise MessageDeleted()
    tombstone(message, moderator=actor, reason=text, via=via)
    return message


REPLIES_REFRESHED_MAX = 200


def _replies_updated(message: Message) -> list[Event]:
    """``message.updated`` for the (latest REPLIES_REFRESHED_MAX) replies to a changed message:
    their preview of it shows what it now says, on open pages and in catch-up."""
    replies = Message.objects.select_related("sender").filter(reply_to=message).order_by("-id")
    return [
        message_event(kinds.MESSAGE_UPDATED, reply, parent=message)
        for reply in reversed(replies[:REPLIES_REFRESHED_MAX])
    ]


def _redact_log(message: Message) -> None:
    """Rewrite every stored event that holds the message's text: its own (to the tombstone) and
    those of replies to it (their preview of it). Catch-up then replays no trace of it."""
    tombstone = {"message": message_payload(message)}
    Event.objects.filter(object_id=message.id).update(payload=tombstone)
    replies = Message.objects.select_related("sender").filter(reply_to=message)
    for reply in replies:
        Event.objects.filter(object_id=reply.id).update(
            payload={"message": message_payload(reply, parent=message)}
        )


@dataclass(frozen=True)
class ReactionResult:
    message: Message
    added: bool  # False: the reaction was there and was taken back


def reactions_summary(rows: Iterable[tuple[str, int, str, str]]) -> list[dict[str, Any]]:
    """The summary a message keeps of its reactions, from (emoji, user id, username, display
    name) rows in order of reacting: per emoji, in order of first use, who and their names."""
    summary: dict[str, dict[str, list]] = {}
    for emoji, user_id, username, display_name in rows:
        entry = summary.setdefault(emoji, {"users": [], "names": []})
        entry["users"].append(user_id)
        entry["names"].append(display_name or username)
    return [{"emoji": e, **entry} for e, entry in summary.items()]


@event_writer
def reaction_toggle(*, user: User, message_id: object, emoji: object) -> ReactionResult:
    """Add the user's reaction with ``emoji`` to a message, or take it back if it is there.

    Any member may react (one reaction per emoji per person); not to a deleted message. The
    summary kept on the message (emoji → who, in order of first use) is what clients show.
    Records ``message.updated``."""
    symbol = clean_emoji(emoji)
    message, membership = message_for_member(user=user, message_id=message_id, lock=True)
    if message.deleted_at is not None:
        raise MessageDeleted()
    _may_post(membership)
    removed, _ = Reaction.objects.filter(message=message, user=user, emoji=symbol).delete()
    if not removed:
        Reaction.objects.create(message=message, user=user, emoji=symbol)
    rows = Reaction.objects.filter(message=message).order_by("id")
    message.reactions = reactions_summary(
        rows.values_list("emoji", "user_id", "user__username", "user__display_name")
    )
    message.save(update_fields=["reactions"])
    events_record_many([message_event(kinds.MESSAGE_UPDATED, message)])
    return ReactionResult(message=message, added=not removed)
