"""Template helpers for the message partial (rendered once per event, with no request)."""

from django import template

from messaging.emoji import QUICK_REACTIONS

register = template.Library()


@register.simple_tag
def quick_reactions() -> tuple[str, ...]:
    return QUICK_REACTIONS
