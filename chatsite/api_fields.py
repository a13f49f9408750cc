"""DRF fields that parse with ``chatsite.validation``'s rules, so REST reads numbers like the
pages and the socket do."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from chatsite.validation import InvalidNumber, parse_id


class IdField(serializers.IntegerField):
    """A non-negative id or cursor: ASCII digits only (``int()`` would also read other scripts'
    digits), bounded so it fits the database's bigint. Documented as an integer."""

    def to_internal_value(self, data: Any) -> int:
        if isinstance(data, bool):
            self.fail("invalid")
        try:
            value = parse_id(data if isinstance(data, int) else str(data), label=self.field_name or "value")
        except InvalidNumber as exc:
            raise serializers.ValidationError(exc.detail) from None
        self.run_validators(value)
        return value
