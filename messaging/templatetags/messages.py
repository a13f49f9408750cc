"""Template helpers for the message partial (rendered once per event, with no request)."""

from django import template

from accounts.models import avatar_colour_of, initials_of
from messaging.emoji import QUICK_REACTIONS

register = template.Library()


@register.simple_tag
def quick_reactions() -> tuple[str, ...]:
    return QUICK_REACTIONS


@register.filter
def duration(seconds: float | None) -> str:
    """A voice message's length as m:ss."""
    if seconds is None:
        return ""
    whole = round(seconds)
    return f"{whole // 60}:{whole % 60:02d}"


_ICONS = (("audio/", "🎵"), ("video/", "🎬"), ("text/", "📝"), ("application/pdf", "📕"), ("image/", "🖼"))
_ARCHIVES = {"application/zip", "application/gzip", "application/x-7z-compressed"}


@register.filter
def file_icon(content_type: str) -> str:
    """An icon for a file's type (decorative: the name and size say what it is)."""
    if content_type in _ARCHIVES:
        return "🗜"
    return next((icon for prefix, icon in _ICONS if content_type.startswith(prefix)), "📄")


@register.filter
def initials(person: dict | None) -> str:
    """The default picture's letters of a person as a payload names them (``user_brief``)."""
    return initials_of(person.get("display_name") or person.get("username") or "") if person else ""


@register.filter
def avatar_colour(person: dict | None) -> int:
    return avatar_colour_of(person.get("id")) if person else 0
