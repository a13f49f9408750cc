"""The one place user input is turned into text and numbers, for every interface.

REST bodies, form posts, WebSocket frames and query strings all arrive here before a service
stores or echoes anything, so a value accepted on one interface is accepted on all of them, and
a value one of them refuses is refused everywhere with the same rule.

Text is **rejected, not repaired**: a body with a lone UTF-16 surrogate (valid JSON, ``"\\ud800"``,
but not encodable as UTF-8, so PostgreSQL cannot store it and a socket cannot send it) is an
error the client hears about, never silently changed into something the user did not write.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Any

from chatsite.exceptions import DomainError

# Characters that render as nothing. A text made only of these (and white space) is blank.
# Unicode's "format" category (Cf: zero-width spaces and joiners, bidi controls, BOM, ...) is
# checked by category; these are the invisible ones outside it.
_INVISIBLE_NON_FORMAT = frozenset("\u115f\u1160\u3164\uffa0\u2800\u034f\u180e\u17b4\u17b5")
# Controls other than tab, line feed and carriage return have no business in chat text.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# Ids and cursors: ASCII digits only (str.isdigit() and int() accept other scripts' digits and
# superscripts, which int() then rejects or reads), at most 18 so the value fits a bigint.
_ASCII_UINT = re.compile(r"[0-9]{1,18}")
ID_MAX = 10**18 - 1


class InvalidText(DomainError):
    code = "invalid_text"
    default_detail = "Text must be valid Unicode."


class InvalidNumber(DomainError):
    code = "invalid_number"
    default_detail = "Must be a whole number."


def is_encodable(text: str) -> bool:
    """False for strings holding lone surrogates (no UTF-8 form: unstorable and unsendable)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def find_unencodable(value: Any, _depth: int = 0) -> bool:
    """True when any string in a decoded JSON document (keys included) cannot be encoded.

    Depth is bounded by the JSON parser itself (recursion limit), so this walk is too."""
    if isinstance(value, str):
        return not is_encodable(value)
    if isinstance(value, dict):
        return any(find_unencodable(k) or find_unencodable(v) for k, v in value.items())
    if isinstance(value, list):
        return any(find_unencodable(item) for item in value)
    return False


def is_blank(text: str) -> bool:
    """True when nothing visible remains: white space, format characters, invisible fillers."""
    for char in text:
        if char.isspace() or char in _INVISIBLE_NON_FORMAT:
            continue
        if unicodedata.category(char) == "Cf":
            continue
        return False
    return True


def clean_text(
    value: object,
    *,
    label: str,
    max_length: int,
    field: str | None = None,
    error: type[DomainError] = InvalidText,
    allow_blank: bool = False,
    multiline: bool = True,
) -> str:
    """Validate and trim user text; raise ``error`` (with ``field``) saying what is wrong.

    Rules: a string; valid Unicode (no lone surrogates); no control characters but tab and
    newlines (none at all when not ``multiline``); not blank unless ``allow_blank`` (blank counts
    invisible characters: a message of zero-width spaces is empty); at most ``max_length``
    characters after trimming white space at both ends.
    """
    if not isinstance(value, str):
        raise error(f"{label} must be a string.", field=field)
    if not is_encodable(value):
        raise error(f"{label} must be valid Unicode text (it holds a lone surrogate).", field=field)
    if _CONTROL.search(value) or (not multiline and ("\n" in value or "\r" in value or "\t" in value)):
        raise error(f"{label} must not contain control characters.", field=field)
    value = value.strip()
    if not allow_blank and is_blank(value):
        raise error(f"{label} must not be empty.", field=field)
    if allow_blank and is_blank(value):
        value = ""
    if len(value) > max_length:
        raise error(f"{label} must be at most {max_length:,} characters.", field=field)
    return value


def parse_id(raw: object, *, label: str = "value", field: str | None = None, minimum: int = 0) -> int:
    """An id or cursor from text: ASCII digits, ``minimum``..ID_MAX. Raises InvalidNumber."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        number = raw
    elif isinstance(raw, str) and _ASCII_UINT.fullmatch(raw):
        number = int(raw)
    else:
        raise InvalidNumber(f"{label} must be a whole number written in ASCII digits.", field=field)
    if not minimum <= number <= ID_MAX:
        raise InvalidNumber(f"{label} must be between {minimum} and {ID_MAX}.", field=field)
    return number


def parse_optional_id(raw: str | None, **kwargs: Any) -> int | None:
    """``parse_id`` for an optional query parameter: absent or empty is None."""
    if raw is None or raw == "":
        return None
    return parse_id(raw, **kwargs)
