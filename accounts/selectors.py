"""Reads of accounts."""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.db.models.functions import Lower

from accounts.models import User, UserBlock


def users_search(*, prefix: str) -> QuerySet[User]:
    """Active users whose username starts with ``prefix`` (case-insensitive), by username.

    ``LOWER(username) LIKE 'pre%'`` is served by the ``text_pattern_ops`` index on PostgreSQL.
    """
    prefix = (prefix or "").strip().lower()
    qs = User.objects.filter(is_active=True)
    if prefix:
        # startswith escapes LIKE wildcards (% and _) in the value itself.
        qs = qs.alias(username_lower=Lower("username")).filter(username_lower__startswith=prefix)
    return qs.order_by(Lower("username"))


def people_find(*, text: str, limit: int = 5) -> list[User]:
    """Active users whose username starts with ``text`` or whose display name contains it
    (case-insensitive), by username: "people" in the search box."""
    text = (text or "").strip()
    if not text:
        return []
    qs = User.objects.filter(is_active=True).alias(username_lower=Lower("username"))
    qs = qs.filter(Q(username_lower__startswith=text.lower()) | Q(display_name__icontains=text))
    return list(qs.order_by(Lower("username"))[:limit])


def blocked_ids(*, user_id: int) -> list[int]:
    """Whom the user has blocked (their messages collapse on the user's pages)."""
    return sorted(UserBlock.objects.filter(user_id=user_id).values_list("blocked_id", flat=True))
