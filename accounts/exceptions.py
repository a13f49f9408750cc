from chatsite.exceptions import DomainError, RateLimited


class RegistrationError(DomainError):
    code = "invalid_registration"

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("Registration failed.")
        self.errors = errors


class LoginThrottled(RateLimited):
    code = "login_throttled"
    default_detail = "Too many failed log-in attempts. Try again later."


class RegistrationThrottled(RateLimited):
    code = "registration_throttled"
    default_detail = "Too many registrations from this address. Try again later."


class PasswordResetThrottled(RateLimited):
    code = "password_reset_throttled"
    default_detail = "Too many password-reset requests from this address. Try again later."


class TicketsThrottled(RateLimited):
    code = "tickets_throttled"
    default_detail = "Too many WebSocket tickets requested. Try again later."


class WrongPassword(DomainError):
    code = "wrong_password"
    default_detail = "That is not your current password."


class InvalidAvatar(DomainError):
    code = "invalid_avatar"
    default_detail = "That file is not a picture Parley can use."

    def __init__(self, detail: str | None = None) -> None:
        super().__init__(detail or self.default_detail, field="avatar")
