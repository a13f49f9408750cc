from chatsite.exceptions import DomainError, NotFound, PermissionDenied


class RoomNotFound(NotFound):
    """A room that does not exist, or one the user may not see: the same answer."""


class NotAllowed(PermissionDenied):
    pass


class InvalidRoom(DomainError):
    code = "invalid_room"


class UnknownUser(DomainError):
    code = "unknown_user"
    default_detail = "No such user."


class InvalidNotify(DomainError):
    code = "invalid_notify"
    default_detail = "Notifications must be one of: all, mentions, muted."
