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
