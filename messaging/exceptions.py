from chatsite.exceptions import DomainError, NotFound, PermissionDenied, RateLimited


class InvalidMessage(DomainError):
    code = "invalid_message"


class SendRateLimited(RateLimited):
    code = "rate_limited"
    default_detail = "You are sending messages too fast."


class SendFailed(DomainError):
    """One send of a group commit could not be stored; the rest of its batch was unaffected."""

    code = "send_failed"
    status = 500
    default_detail = "This message could not be stored (nothing was saved). Try again."


class ReadFailed(DomainError):
    """A read could not be marked (the database refused the batch); nothing moved."""

    code = "read_failed"
    status = 503
    default_detail = "This read could not be recorded. It will be reported again."


class InvalidReaction(DomainError):
    """A reaction that is not exactly one emoji (see :func:`messaging.emoji.clean_emoji`)."""

    code = "invalid_reaction"
    default_detail = "A reaction must be exactly one emoji."


class MessageNotFound(NotFound):
    """A message that does not exist, or is in a room the user is not in: the same answer."""


class MessageDeleted(DomainError):
    code = "message_deleted"
    status = 409
    default_detail = "This message was deleted."


class InvalidReply(DomainError):
    code = "invalid_reply"
    default_detail = "reply_to must be the id of a message in this room."


class EditNotAllowed(PermissionDenied):
    code = "forbidden"
    default_detail = "You can only edit your own messages."


class DeleteNotAllowed(PermissionDenied):
    code = "forbidden"
    default_detail = "You can only delete your own messages (room owners and admins: any in their room)."


class EditWindowClosed(PermissionDenied):
    code = "edit_window_closed"
    default_detail = "This message can no longer be edited."


class MentionNotAllowed(PermissionDenied):
    code = "mention_not_allowed"
    default_detail = "Only owners and admins can mention @room in a room this big."


class InvalidSearch(DomainError):
    """A search query that cannot be run as written: too long, or an operator with a bad value.

    A room named by ``in:`` that the searcher is not in gets the same answer as one that does
    not exist."""

    code = "invalid_search"
    default_detail = "This search cannot be run."


class InvalidDeliveredPointer(DomainError):
    """A delivered pointer past the room's newest message (one in the past is a no-op)."""

    code = "invalid_delivered"
    default_detail = "'message' must be the id of a message of this room, at most its newest."


class InvalidReadPointer(DomainError):
    """A read pointer past the room's newest message (a pointer in the past is a no-op)."""

    code = "invalid_read"
    default_detail = "'message' must be the id of a message of this room, at most its newest."


class InvalidUpload(DomainError):
    """A file that cannot be stored as sent: too big, an image over the pixel limit, a voice
    message too long or not audio."""

    code = "invalid_upload"
    default_detail = "This file cannot be uploaded."


class UploadTooLarge(InvalidUpload):
    status = 413


class UploadRateLimited(RateLimited):
    code = "rate_limited"
    default_detail = "You are uploading files too fast."


class InvalidAttachments(DomainError):
    """Attachment ids a message cannot carry: not the sender's uploads to this room, already
    sent with another message, repeated, or too many."""

    code = "invalid_attachments"
    default_detail = "attachments must be ids of your own unsent uploads to this room."


class AttachmentNotFound(NotFound):
    """A file that does not exist, or that the user may not fetch: the same answer."""
