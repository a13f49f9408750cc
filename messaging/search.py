"""The message search language, and how it becomes a full-text condition on each backend.

    deploy "exact phrase" -draft staging OR production from:alice in:general in:@bob
    has:link has:file has:image is:mention before:2026-11-01 after:2026-10-01 on:2026-10-15

Words are ANDed and stemmed; ``OR`` between two terms makes them alternatives; ``-term``
excludes; the last word is also matched as a prefix while the query does not end in a space
(results as you type). Parsing is pure; operator values naming users and rooms are resolved
by ``messaging.search_selectors.messages_search``. Words are reduced to letters and digits before they
reach either engine, so no input can be read as engine syntax.

PostgreSQL matches a stored ``to_tsvector(SEARCH_LANGUAGE, body)`` column (GIN-indexed, migration
0006) against a tsquery built from ``plainto_tsquery``/``phraseto_tsquery`` parts;
SQLite matches an FTS5 table (Porter-stemmed, diacritics folded) kept in step by triggers.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

from messaging.exceptions import InvalidSearch

QUERY_MAX_LENGTH = 2000
TERMS_MAX = 64
FTS_TABLE = "messaging_message_fts"
# PostgreSQL: a generated column, to_tsvector(SEARCH_LANGUAGE, body) with the characters its
# parser would read as part of a URL, host, e-mail, path, version, hyphenated word or HTML tag made
# spaces, so words split as FTS5 (and WORD_RE) split them (migration 0006).
PG_VECTOR_COLUMN = "search_vector"

WORD_RE = re.compile(r"[^\W_]+")
_TOKEN_RE = re.compile(r'-?"[^"]*"?|[A-Za-z]+:"[^"]*"?|\S+')  # in:"Room name" is one token
_OPERATOR_RE = re.compile(r"(from|in|has|is|before|after|on):(.*)", re.IGNORECASE | re.DOTALL)
_DATE_RE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
HAS_VALUES = ("link", "file", "image")


@dataclass(frozen=True)
class Term:
    """Words to find: one word, or several in a row (a phrase); ``prefix``: the last word may
    be the start of a longer one."""

    tokens: tuple[str, ...]
    prefix: bool = False


@dataclass
class SearchQuery:
    groups: list[list[Term]] = field(default_factory=list)  # every group must match, by any term
    excluded: list[Term] = field(default_factory=list)
    senders: list[str] = field(default_factory=list)  # from: usernames ("me" allowed)
    rooms: list[str] = field(default_factory=list)  # in: slugs or names, "@user" for a DM
    has: set[str] = field(default_factory=set)  # of HAS_VALUES: link, file (any attachment), image
    mention: bool = False
    before: date | None = None  # sent before this day
    after: date | None = None  # sent after this day
    on: date | None = None

    @property
    def has_text(self) -> bool:
        return bool(self.groups or self.excluded)

    @property
    def is_empty(self) -> bool:
        filters = (self.senders, self.rooms, self.has, self.mention, self.before, self.after, self.on)
        return not self.has_text and not any(filters)

    def highlight_words(self) -> list[str]:
        return [token for group in self.groups for term in group for token in term.tokens]


def _term(text: str) -> Term | None:
    tokens = tuple(WORD_RE.findall(text.casefold()))
    return Term(tokens=tokens) if tokens else None


def _date(name: str, value: str) -> date:
    try:
        if _DATE_RE.fullmatch(value):
            return date.fromisoformat(value)
    except ValueError:
        pass
    raise InvalidSearch(f"{name}: needs a date like 2026-11-21 (got “{value}”).", field="q")


def _operator(query: SearchQuery, name: str, value: str) -> None:
    name = name.lower()
    if not value:
        raise InvalidSearch(f"{name}: needs a value, e.g. {name}:{_EXAMPLES[name]}.", field="q")
    if name == "from":
        query.senders.append(value.removeprefix("@"))
    elif name == "in":
        query.rooms.append(value)
    elif name == "has":
        kind = value.lower()
        if kind not in HAS_VALUES:
            raise InvalidSearch(f"has: can be has:link, has:file or has:image (got “{value}”).", field="q")
        query.has.add(kind)
    elif name == "is":
        if value.lower() != "mention":
            raise InvalidSearch(f"is: can only be is:mention (got “{value}”).", field="q")
        query.mention = True
    else:
        setattr(query, name, _date(name, value))


_EXAMPLES = {
    "from": "alice",
    "in": "general",
    "has": "link",
    "is": "mention",
    "before": "2026-11-21",
    "after": "2026-11-21",
    "on": "2026-11-21",
}


def parse(text: str) -> SearchQuery:
    """The query as written, or InvalidSearch saying what is wrong with it."""
    if len(text) > QUERY_MAX_LENGTH:
        raise InvalidSearch(f"A search can be at most {QUERY_MAX_LENGTH:,} characters long.", field="q")
    query = SearchQuery()
    pending_or = False
    last_bare: tuple[list[Term], int] | None = None  # where the last plain word went
    for raw in _TOKEN_RE.findall(text):
        if raw == "OR":
            pending_or = bool(query.groups)
            continue
        if (operator := _OPERATOR_RE.fullmatch(raw)) is not None:
            _operator(query, operator.group(1), operator.group(2).strip('"').strip())
            pending_or, last_bare = False, None
            continue
        negated = raw.startswith("-") and len(raw) > 1
        quoted = raw.lstrip("-").startswith('"')
        term = _term(raw[1:] if negated else raw)
        if term is None:
            continue
        if negated:
            query.excluded.append(term)
            last_bare = None
        elif pending_or:
            query.groups[-1].append(term)
        else:
            query.groups.append([term])
        if not negated:
            last_bare = (query.groups[-1], len(query.groups[-1]) - 1) if not quoted else None
        pending_or = False
        if len(query.groups) + len(query.excluded) > TERMS_MAX:
            raise InvalidSearch(f"A search can have at most {TERMS_MAX} words.", field="q")
    if last_bare is not None and text and not text[-1].isspace():
        group, index = last_bare
        if len(group[index].tokens) == 1:
            group[index] = Term(tokens=group[index].tokens, prefix=True)
    return query


# --- PostgreSQL: a tsquery expression ----------------------------------------------------------


def _pg_term(term: Term, config: str) -> tuple[str, list[str]]:
    words = " ".join(term.tokens)
    if len(term.tokens) > 1:
        return f"phraseto_tsquery('{config}', %s)", [words]
    if term.prefix:  # the whole word, stemmed, or anything it starts
        return f"(plainto_tsquery('{config}', %s) || to_tsquery('{config}', %s))", [words, f"{words}:*"]
    return f"plainto_tsquery('{config}', %s)", [words]


def _pg_any(terms: list[Term], config: str) -> tuple[str, list[str]]:
    parts = [_pg_term(term, config) for term in terms]
    return "(" + " || ".join(sql for sql, _ in parts) + ")", [p for _, params in parts for p in params]


def postgres_condition(query: SearchQuery) -> tuple[str, str, list[str]]:
    """(the match condition, its rank, their parameters) for ``messaging_message``: the query
    against the stored vector (migration 0006), which its GIN index serves."""
    config = settings.SEARCH_LANGUAGE
    parts = [_pg_any(group, config) for group in query.groups]
    parts += [(f"!!{sql}", params) for sql, params in (_pg_any([t], config) for t in query.excluded)]
    tsquery = " && ".join(sql for sql, _ in parts)
    params = [p for _, ps in parts for p in ps]
    vector = f"messaging_message.{PG_VECTOR_COLUMN}"
    return f"{vector} @@ ({tsquery})", f"ts_rank({vector}, ({tsquery}))", params


# --- SQLite: an FTS5 MATCH expression ----------------------------------------------------------


def _fts_term(term: Term) -> str:
    # Tokens are letters and digits only: quoted, they are always plain strings to FTS5.
    phrase = '"' + " ".join(term.tokens) + '"'
    return f"({phrase} OR {phrase}*)" if term.prefix else phrase


def _fts_any(terms: list[Term]) -> str:
    return "(" + " OR ".join(_fts_term(term) for term in terms) + ")"


def sqlite_match(query: SearchQuery) -> tuple[str | None, str | None]:
    """(the FTS5 expression every result matches, the one no result matches)."""
    positive = " AND ".join(_fts_any(group) for group in query.groups) or None
    negative = " OR ".join(_fts_term(term) for term in query.excluded) or None
    return positive, negative


# --- Highlighting ------------------------------------------------------------------------------

_SUFFIXES = ("ing", "ed", "es", "s", "ly")
SNIPPET_CHARS = 200


def _root(word: str) -> str:
    """A rough stem: what a word and its inflections start with ("deploying" → "deploy")."""
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def highlight(text: str, words: list[str]) -> SafeString:
    """``text`` escaped, cut to a snippet around the first match, with words that start like a
    searched word in ``<mark>``. Escaping comes first, so the text can hold no markup."""
    roots = sorted({_root(w) for w in words}, key=len, reverse=True)
    matches = [m for m in WORD_RE.finditer(text) if roots and m.group().casefold().startswith(tuple(roots))]
    start = 0
    if matches and matches[0].start() > SNIPPET_CHARS // 3:
        start = text.rfind(" ", 0, matches[0].start() - SNIPPET_CHARS // 4) + 1
    end = min(len(text), start + SNIPPET_CHARS)
    if end < len(text) and (space := text.rfind(" ", start, end)) > start:
        end = space
    out, cursor = ["…" if start else ""], start
    for m in matches:
        if m.start() < start or m.end() > end:
            continue
        out += [html.escape(text[cursor : m.start()]), "<mark>", html.escape(m.group()), "</mark>"]
        cursor = m.end()
    out += [html.escape(text[cursor:end]), "…" if end < len(text) else ""]
    return mark_safe("".join(out))
