"""URL path converters. Importing this module registers them (``<id:room_id>``)."""

from __future__ import annotations

from django.urls import register_converter
from django.urls.converters import IntConverter


class IdConverter(IntConverter):
    """A database id. SQLite and PostgreSQL answer a number too big for the column with an error,
    not with "no such row", so a longer one matches no route (404) instead of reaching a query.
    The same rule as ``chatsite.validation.parse_id`` (ASCII digits, at most ``ID_MAX``)."""

    regex = "[0-9]{1,18}"


register_converter(IdConverter, "id")
