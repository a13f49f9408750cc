"""Which strings are one emoji, and the one spelling each emoji is stored under.

A reaction is one emoji as a person picks it from a picker or a keyboard: one entry of Unicode's
list of recommended emoji (RGI: emoji-test.txt, as carried by the pinned ``emoji`` package).
That covers single characters, skin-tone variants, ZWJ sequences, flags and keycaps; anything
else -- text, two emoji, an emoji and text, a lone skin-tone swatch, a digit -- is refused.

The same visible emoji arrives in more than one spelling: with or without variation selectors
(U+FE0F asks for emoji presentation, U+FE0E for text), fully, minimally or not qualified.
:func:`clean_emoji` returns the fully-qualified spelling, so each emoji is one key wherever
reactions are counted or compared.
"""

from __future__ import annotations

from emoji import EMOJI_DATA, STATUS

from messaging.exceptions import InvalidReaction

# Longer than any RGI emoji (the longest are about ten code points); refused before any lookup.
MAX_CODE_POINTS = 32

QUICK_REACTIONS: tuple[str, ...] = ("👍", "❤️", "😂", "🎉", "😮", "😢")

_VARIATION_SELECTORS = str.maketrans("", "", "\ufe0e\ufe0f")


def _spelling_key(value: str) -> str:
    return value.translate(_VARIATION_SELECTORS)


def _fully_qualified_by_key() -> dict[str, str]:
    """Every spelling, stripped of variation selectors -> the fully-qualified emoji it shows.

    Components (skin-tone and hair swatches) are not emoji on their own, so they are left out.
    """
    fully_qualified = STATUS["fully_qualified"]
    table: dict[str, str] = {}
    for value, data in EMOJI_DATA.items():
        if data["status"] == fully_qualified:
            table[_spelling_key(value)] = value
    return table


_CANONICAL = _fully_qualified_by_key()


def clean_emoji(value: object) -> str:
    """Return ``value`` as the fully-qualified spelling of the one emoji it is.

    Raises :class:`~messaging.exceptions.InvalidReaction` for anything that is not exactly one
    RGI emoji, non-strings included. Pure: no database, no side effects.
    """
    if not isinstance(value, str) or not value or len(value) > MAX_CODE_POINTS:
        raise InvalidReaction()
    canonical = _CANONICAL.get(_spelling_key(value))
    if canonical is None:
        raise InvalidReaction()
    return canonical
