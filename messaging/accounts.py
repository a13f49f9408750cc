"""Deleting an account, the messages' part: what it leaves in other people's messages.

The rooms app makes the account leave its rooms and the accounts app deletes it (its messages
stay, from a "deleted user"); the reactions it left on messages go with it (the rows cascade),
and here, in the same transaction, the summary each of those messages keeps of its reactions
loses the person's id and name too — with ``message.updated``, so open pages drop the name at
once instead of when the reactions next change. Interfaces call this, not the rooms service.
"""

from __future__ import annotations

from accounts.models import User
from chatsite.realtime import kinds
from chatsite.realtime.events import event_writer, events_record_many
from chatsite.realtime.redaction import forget_person
from messaging.models import Message, Reaction
from messaging.services import message_event
from rooms import services as rooms

_BATCH = 500


@event_writer
def account_delete(*, user: User, password: str) -> None:
    """Delete ``user``'s account, confirmed with their password (WrongPassword otherwise; then
    nothing changes): ``rooms.services.account_delete``, then the reaction summaries that named
    them are rewritten without them, each recording ``message.updated``."""
    user_id = user.pk
    reacted = set(Reaction.objects.filter(user_id=user_id).values_list("message_id", flat=True))
    # Their rows locked before the first event takes the publication lock (see
    # chatsite.realtime.events); read again below, after the rooms' part has changed them.
    reacted_rows = Message.objects.filter(pk__in=reacted, deleted_at__isnull=True).order_by("pk")
    list(reacted_rows.select_for_update(of=("self",)).values_list("pk", flat=True))
    rooms.account_delete(user=user, password=password)
    messages = list(
        Message.objects.select_related("sender")
        .select_for_update(of=("self",))
        .filter(pk__in=reacted, deleted_at__isnull=True)
        .order_by("pk")
    )
    for message in messages:
        message.reactions = forget_person(message.reactions, user_id)
    Message.objects.bulk_update(messages, ["reactions"], batch_size=_BATCH)
    events_record_many([message_event(kinds.MESSAGE_UPDATED, message) for message in messages])
