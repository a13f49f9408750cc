"""clean_emoji: one emoji, in one spelling; and the picker data (static/vendor/emoji/emoji.json)
offers nothing clean_emoji would refuse or respell."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from emoji import EMOJI_DATA

from chatsite.exceptions import DomainError
from conftest import ROOT
from messaging.emoji import MAX_CODE_POINTS, QUICK_REACTIONS, clean_emoji
from messaging.exceptions import InvalidReaction

PICKER_DATA = ROOT / "static" / "vendor" / "emoji" / "emoji.json"
SKIN_TONES = {chr(code) for code in range(0x1F3FB, 0x1F400)}


def picker_entries() -> list[dict]:
    data = json.loads(PICKER_DATA.read_text("utf-8"))
    return [entry for category in data["categories"] for entry in category["emoji"]]


@pytest.mark.parametrize(
    "value",
    [
        "👍",
        "❤️",
        "😂",
        "🫠",  # Emoji 14
        "👍🏽",  # skin tone
        "👍🏿",
        "👨‍👩‍👧",  # ZWJ sequence
        "🧑🏽‍💻",  # ZWJ with a skin tone
        "🏳️‍🌈",
        "🚶‍➡️",  # Emoji 15.1 direction
        "🇫🇷",  # regional-indicator flag
        "🏴󠁧󠁢󠁳󠁣󠁴󠁿",  # tag-sequence flag (Scotland)
        "1️⃣",  # keycap
        "#️⃣",
        "©️",
        "\U0001faeb",  # cracking face, Emoji 18: accepted though the picker does not offer it yet
    ],
)
def test_one_emoji_is_accepted_as_it_is(value):
    assert clean_emoji(value) == value


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("❤", "❤️"),  # no VS16: the emoji it shows, fully qualified
        ("❤\ufe0e", "❤️"),  # text presentation asked for: still the same emoji
        ("👍\ufe0f", "👍"),  # a VS16 where none belongs
        ("😀\ufe0f\ufe0f", "😀"),
        ("☺", "☺️"),
        ("©", "©️"),
        ("1\u20e3", "1️⃣"),  # unqualified keycap
        ("🏳\u200d🌈", "🏳️‍🌈"),  # minimally qualified ZWJ sequence
        ("👁\u200d🗨", "👁️‍🗨️"),
        ("👁️\u200d🗨", "👁️‍🗨️"),
    ],
)
def test_each_emoji_has_one_spelling(value, stored):
    assert clean_emoji(value) == stored
    assert clean_emoji(stored) == stored


@pytest.mark.parametrize(
    "value",
    [
        "",
        "a",
        "ok",
        "thumbs up",
        ":thumbsup:",
        "1",  # digits and keycap bases are not emoji alone
        "42",
        "#",
        "*",
        "👍👍",  # two emoji
        "🇫🇷🇩🇪",
        "👍 ",
        " 👍",
        "👍a",
        "a👍",
        "👍\u0301",  # one grapheme cluster, not an emoji
        "x" * 40,
        "👍" * 40,
        "\ud83d",  # lone surrogates
        "\udc4d",
        "\ud83d\udc4d",  # a surrogate *pair* in a str is two code points, not 👍
        "\u200d",  # format and control characters alone
        "\u200b",
        "\u202e",
        "\ufe0f",
        "\x00",
        "\n",
        "🏽",  # components: a skin-tone or hair swatch is not an emoji on its own
        "🦰",
        "🇫",  # half a flag
        "🇦🇦",  # two regional indicators that name no region
        "👨\u200d",  # dangling joiner
        "👨\u200d👩\u200d👧\u200d👦\u200d👦",  # a ZWJ sequence no vendor draws as one emoji
    ],
)
def test_anything_but_one_emoji_is_refused(value):
    with pytest.raises(InvalidReaction):
        clean_emoji(value)


@pytest.mark.parametrize("value", [None, 128077, 1.5, b"\xf0\x9f\x91\x8d", ["👍"], {"emoji": "👍"}, object()])
def test_non_strings_are_refused(value):
    with pytest.raises(InvalidReaction):
        clean_emoji(value)


def test_the_length_limit_is_checked_before_the_lookup():
    assert max(len(value) for value in EMOJI_DATA) < MAX_CODE_POINTS  # no emoji is near it
    with pytest.raises(InvalidReaction):
        clean_emoji("\ufe0f" * MAX_CODE_POINTS + "😀")  # would clean to 😀 but is far too long


def test_a_refusal_is_a_domain_error_with_its_own_code():
    with pytest.raises(DomainError) as raised:
        clean_emoji("nope")
    assert raised.value.code == "invalid_reaction"
    assert raised.value.status == 400
    assert raised.value.detail == "A reaction must be exactly one emoji."


def test_a_str_subclass_comes_back_as_a_plain_str():
    class Marked(str):
        pass

    cleaned = clean_emoji(Marked("❤"))
    assert type(cleaned) is str
    assert cleaned == "❤️"


def test_quick_reactions_are_six_distinct_emoji_in_their_stored_spelling():
    assert isinstance(QUICK_REACTIONS, tuple)
    assert len(QUICK_REACTIONS) == len(set(QUICK_REACTIONS)) == 6
    assert [clean_emoji(value) for value in QUICK_REACTIONS] == list(QUICK_REACTIONS)


# -- the picker's data ------------------------------------------------------------------------------


def test_the_picker_offers_only_emoji_that_are_stored_as_offered():
    entries = picker_entries()
    offered = [entry["e"] for entry in entries]
    assert [clean_emoji(value) for value in offered] == offered
    assert len(offered) == len(set(offered))
    assert not any(SKIN_TONES & set(value) for value in offered)  # base emoji only
    assert set(QUICK_REACTIONS) <= set(offered)
    assert all(entry["n"] and isinstance(entry["k"], list) for entry in entries)


def test_the_picker_data_is_grouped_small_and_findable():
    data = json.loads(PICKER_DATA.read_text("utf-8"))
    names = [category["name"] for category in data["categories"]]
    assert names[0] == "Smileys & Emotion" and names[-1] == "Flags" and "Component" not in names
    assert PICKER_DATA.stat().st_size < 250_000
    by_emoji = {entry["e"]: entry for entry in picker_entries()}
    assert by_emoji["👍"]["n"] == "thumbs up" and "thumbsup" in by_emoji["👍"]["k"]
    assert by_emoji["🇫🇷"]["n"] == "flag: France"


def test_the_picker_data_is_what_the_build_script_makes():
    built = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build-emoji-data.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert built.returncode == 0, built.stderr
