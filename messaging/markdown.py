"""Message bodies: a safe Markdown subset rendered to HTML, and the same body as plain text.

The subset: **bold**, *italic*, ~~strike~~, `inline code`, fenced and indented code blocks, block
quotes, bulleted and numbered lists, [links](https://…), and bare URLs / www. / e-mail addresses
linked automatically (a bare URL longer than ``MAX_URL_LENGTH`` stays text). Everything else
(headings, images, tables, rules, raw HTML, entities) stays the literal text the user typed. A single
newline is a line break, as chat users expect.

Rendering is two-stage on purpose: markdown-it parses with only the subset's rules enabled, then nh3
re-parses its output and keeps only the allow-list below, so a renderer bug cannot emit anything
else. The result is trusted HTML; render it once (at write time) and store it.

Bounded: quotes and lists nest at most ``MAX_NESTING`` deep (markdown-it drops blocks nested deeper),
and no rule is worse than linear in the body (see the bomb tests), so hostile input costs time and
output proportional to its length.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

import nh3
from linkify_it import LinkifyIt
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

MAX_NESTING = 20

ALLOWED_TAGS = frozenset(
    {"a", "blockquote", "br", "code", "em", "li", "ol", "p", "pre", "s", "span", "strong", "ul"}
)
# `rel` and `target` are not listed: nh3 sets them on every link (LINK_REL, LINK_TARGET).
ALLOWED_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "a": frozenset({"href"}),
    "ol": frozenset({"start"}),
    "span": frozenset({"data-user-id"}),
}
ALLOWED_CLASSES: Mapping[str, frozenset[str]] = {"span": frozenset({"mention", "mention-room"})}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_REL = "noopener noreferrer nofollow ugc"
LINK_TARGET = "_blank"

# An absolute http(s)/mailto URL as markdown-it normalises it (percent-encoded, so no whitespace or
# control characters). Relative and protocol-relative (`//host`) URLs do not match.
_ALLOWED_URL_RE = re.compile(r"(?:https?://|mailto:)[^\x00-\x20\x7f-\x9f]+", re.IGNORECASE)
_DIGITS_RE = re.compile(r"[0-9]{1,20}")

# `@name`: not glued to a preceding word, address or name, and not cut out of a longer run.
MENTION_RE = re.compile(r"(?<![\w.@-])@([A-Za-z0-9_.-]{3,32})(?![\w.@-])")
ROOM_MENTION = "room"

# A run of emphasis/strike markers longer than any nesting we render is literal text, taken in one
# step: markdown-it would otherwise make a token (and a delimiter) per character.
_MARKER_RUN_RE = re.compile("|".join(re.escape(marker) * (MAX_NESTING + 1) + "+" for marker in "*_~"))

# `https://` typed in text: the scheme is the word just before `://` (at most 5 letters, so a short
# tail of the pending text is enough to find it), and the URL runs to the next whitespace at most.
_SCHEME_BEFORE_RE = re.compile(r"(?:^|[^A-Za-z0-9.+-])(https?)\Z", re.IGNORECASE)
MAX_URL_LENGTH = 4096
_WHITESPACE_RE = re.compile(r"\s")

_BLOCK_RULES = ["blockquote", "code", "fence", "list", "paragraph"]
_INLINE_RULES = [
    "autolink",
    "backticks",
    "emphasis",
    "escape",
    "link",
    "newline",
    "strikethrough",
    "text",
]
_INLINE2_RULES = ["balance_pairs", "emphasis", "fragments_join", "strikethrough"]
_CORE_RULES = ["block", "inline", "linkify", "normalize", "text_join"]


def is_allowed_url(url: str) -> bool:
    """True for an absolute http, https or mailto URL; the one link policy for both stages."""
    return _ALLOWED_URL_RE.fullmatch(url) is not None


def render_html(body: str, *, mentions: Mapping[str, int] | None = None, mention_room: bool = False) -> str:
    """The body as sanitised HTML, safe to insert into a page as is.

    ``mentions`` maps lower-cased usernames to user ids: each ``@username`` outside code and link
    text whose name is a key becomes ``<span class="mention" data-user-id="ID">``; with
    ``mention_room``, ``@room`` becomes ``<span class="mention mention-room">`` (even if a user is
    called "room"). Other ``@names`` stay text.
    """
    env: EnvType = {
        "mentions": {name.lower(): int(user_id) for name, user_id in (mentions or {}).items()},
        "mention_room": mention_room,
    }
    return _CLEANER.clean(_MD.render(body, env)).strip()


def render_plain(body: str) -> str:
    """The body with its markup removed, for notifications and search snippets.

    Plain text, not HTML: whoever puts it into HTML must escape it. Link text is kept, link targets
    are not; code keeps its content; blocks and line breaks become newlines.
    """
    parts: list[str] = []
    for token in _MD.parse(body):
        if token.type == "inline":
            parts.extend(_inline_plain(token.children or ()))
        elif token.type in ("code_block", "fence"):
            parts.append(token.content)
        elif token.type in ("paragraph_close", "list_item_close"):
            parts.append("\n")
    return re.sub(r"\n{2,}", "\n", "".join(parts)).strip("\n")


def _inline_plain(children: Sequence[Token]) -> list[str]:
    return [
        "\n" if child.type in ("softbreak", "hardbreak") else child.content
        for child in children
        if child.type in ("text", "code_inline", "softbreak", "hardbreak")
    ]


def _mentions_rule(state: StateCore) -> None:
    """Turn known ``@names`` in plain text (not code, not link text) into mention tokens."""
    users: Mapping[str, int] = state.env.get("mentions") or {}
    room: bool = state.env.get("mention_room", False)
    if not users and not room:
        return
    for block in state.tokens:
        if block.type != "inline" or not block.children:
            continue
        children: list[Token] = []
        link_depth = 0
        for token in block.children:
            if token.type == "link_open":
                link_depth += 1
            elif token.type == "link_close":
                link_depth -= 1
            elif token.type == "text" and link_depth == 0 and "@" in token.content:
                children.extend(_split_mentions(token, users, room))
                continue
            children.append(token)
        block.children = children


def _split_mentions(token: Token, users: Mapping[str, int], room: bool) -> list[Token]:
    text = token.content
    pieces: list[Token] = []
    last = 0
    for match in MENTION_RE.finditer(text):
        name = match.group(1)
        # A sentence may end right after the name ("thanks @ana."): try it without the punctuation.
        for candidate in (name, name.rstrip(".-")):
            key = candidate.lower()
            if len(key) < 3:
                break
            if room and key == ROOM_MENTION:
                meta: dict[str, Any] = {"room": True}
            elif key in users:
                meta = {"user_id": users[key]}
            else:
                continue
            start, end = match.start(), match.start(1) + len(candidate)
            if start > last:
                pieces.append(_text_token(text[last:start], token.level))
            mention = Token("mention", "span", 0, content=text[start:end], meta=meta, level=token.level)
            pieces.append(mention)
            last = end
            break
    if last == 0:
        return [token]
    if last < len(text):
        pieces.append(_text_token(text[last:], token.level))
    return pieces


def _text_token(content: str, level: int) -> Token:
    return Token("text", "", 0, content=content, level=level)


def _render_mention(self: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType) -> str:
    token = tokens[idx]
    text = escapeHtml(token.content)
    if token.meta.get("room"):
        return f'<span class="mention mention-room">{text}</span>'
    return f'<span class="mention" data-user-id="{int(token.meta["user_id"])}">{text}</span>'


def _marker_run_rule(state: StateInline, silent: bool) -> bool:
    run = _MARKER_RUN_RE.match(state.src, state.pos, state.posMax)
    if run is None:
        return False
    if not silent:
        state.append_pending(run.group())
    state.pos = run.end()
    return True


def _scheme_url_rule(state: StateInline, silent: bool) -> bool:
    """Link ``http(s)://…`` in text before emphasis can cut it (``/__init__.py``).

    Stands in for markdown-it's inline linkify rule, which searches all the text since the last
    token at every ``://`` (quadratic in ``a://a://…``): here look-back and look-ahead are bounded.
    """
    pos, end = state.pos, state.posMax
    if state.linkLevel > 0 or not state.src.startswith("://", pos, end):
        return False
    scheme = _SCHEME_BEFORE_RE.search(state.pending[-8:])
    if scheme is None:
        return False
    start = pos - len(scheme.group(1))
    window_end = min(end, start + MAX_URL_LENGTH)
    space = _WHITESPACE_RE.search(state.src, pos, window_end)
    stop = space.start() if space else window_end
    link = _SCHEMED_URLS.match_at_start(state.src[start:stop])
    if link is None:
        return False
    if space is None and stop < end and link.last_index == stop - start:
        # Longer than any URL we link: the rest of the word is text, taken in one step so that each
        # `://` inside it is not another attempt.
        word_end = _WHITESPACE_RE.search(state.src, stop, end)
        state.pos = word_end.start() if word_end else end
        if not silent:
            state.append_pending(state.src[pos : state.pos])
        return True
    # A URL does not end in an emphasis or strike marker: "**see https://x.org**".
    url = state.src[start : start + link.last_index].rstrip("*~")
    href = state.md.normalizeLink(url)
    if not state.md.validateLink(href):
        return False
    if not silent:
        state.pending = state.pending[: -len(scheme.group(1))]
        state.push("link_open", "a", 1).attrs = {"href": href}
        state.push("text", "", 0).content = state.md.normalizeLinkText(url)
        state.push("link_close", "a", -1)
    state.pos = start + len(url)
    return True


class _BareLinkify(LinkifyIt):
    """linkify-it for the linkify core rule: ``www.``/bare host names and e-mail addresses.

    ``http(s)://`` URLs are the ``scheme_url`` rule's: linkify-it validates every ``scheme:``
    occurrence up to the end of its URL, quadratic in ``http://a.co/http://a.co/…``.
    """

    def test_schema_at(self, text: str, name: str, position: int) -> int:
        return super().test_schema_at(text, name, position) if name.lower() == "mailto:" else 0


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "href":
        return value if is_allowed_url(value) else None
    if attribute in ("start", "data-user-id"):
        return value if _DIGITS_RE.fullmatch(value) else None
    return value


def _build_parser() -> MarkdownIt:
    md = MarkdownIt(
        "zero",
        {"maxNesting": MAX_NESTING, "html": False, "linkify": True, "breaks": True, "xhtmlOut": False},
    )
    md.core.ruler.enable(_CORE_RULES)
    md.block.ruler.enable(_BLOCK_RULES)
    md.inline.ruler.enable(_INLINE_RULES)
    md.inline.ruler2.enable(_INLINE2_RULES)
    md.inline.ruler.after("text", "scheme_url", _scheme_url_rule)
    md.inline.ruler.before("strikethrough", "marker_run", _marker_run_rule)
    md.validateLink = is_allowed_url  # type: ignore[method-assign]
    md.linkify = _BareLinkify()
    md.core.ruler.push("mentions", _mentions_rule)
    md.add_render_rule("mention", _render_mention)
    return md


_SCHEMED_URLS = LinkifyIt()
_MD = _build_parser()
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    # "*": nothing, or nh3 keeps its default generic attributes (title, lang) on every tag.
    attributes={"*": set()} | {tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
    allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
    attribute_filter=_filter_attribute,
    url_schemes=set(ALLOWED_URL_SCHEMES),
    url_relative="deny",
    link_rel=LINK_REL,
    set_tag_attribute_values={"a": {"target": LINK_TARGET}},
)
