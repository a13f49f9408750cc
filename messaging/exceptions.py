from chatsite.exceptions import DomainError, RateLimited


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


class InvalidReaction(DomainError):
    """A reaction that is not exactly one emoji (see :func:`messaging.emoji.clean_emoji`)."""

    code = "invalid_reaction"
    default_detail = "A reaction must be exactly one emoji."
