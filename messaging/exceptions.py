from chatsite.exceptions import DomainError, RateLimited


class InvalidMessage(DomainError):
    code = "invalid_message"


class SendRateLimited(RateLimited):
    code = "rate_limited"
    default_detail = "You are sending messages too fast."
