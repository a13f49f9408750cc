"""Reads of accounts."""

from __future__ import annotations

from django.db.models import QuerySet
from django.db.models.functions import Lower

from accounts.models import User


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
