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


class Muted(PermissionDenied):
    """A muted member's post, reaction or edit: they may read the room until the mute ends."""

    code = "muted"
    default_detail = "You are muted in this room."


class RoomReadOnly(PermissionDenied):
    code = "read_only"
    default_detail = "Only owners and admins can post in this room."


class RoomArchived(PermissionDenied):
    code = "archived"
    default_detail = "This room is archived: nobody can post in it."


class InvalidModeration(DomainError):
    code = "invalid_moderation"


class Blocked(PermissionDenied):
    """A direct conversation between two people one of whom has blocked the other."""

    code = "blocked"
    default_detail = "You cannot send direct messages to this person."
