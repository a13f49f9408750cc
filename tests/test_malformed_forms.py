"""Malformed input through the web pages' own form posts (htmx and plain): generated bodies for
every page URL the URL conf routes outside the API and the admin.

The field names come from the templates (every ``name="..."`` a form of theirs posts), so a new
form's fields are covered without editing the test; values are drawn by Hypothesis (a fixed
seed): text of any kind, very long text, several values for one name, files of random bytes.
Each body is posted twice, once as a plain form post and once as htmx sends it. For each: no
server error (no 5xx, no traceback in the log), and a refused post (a 4xx, or a page showing
its error, which every template marks ``role="alert"``) stores nothing: the row count of every
table is unchanged. tests/test_malformed_input.py does the same for the REST API.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from tests.test_malformed_input import _counts, requester_world

pytestmark = pytest.mark.django_db

BODIES = 500  # each posted twice (plain and htmx); views that take no POST answer 405 at once
FILE_FIELDS = ("avatar", "file")


def page_paths() -> list[str]:
    """Every URL pattern outside /api/ and /admin/ (a view that takes no POST answers 405)."""
    found = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            pattern = str(entry.pattern)
            if isinstance(entry, URLResolver):
                if not pattern.startswith("admin"):
                    walk(entry, prefix + pattern)
                continue
            assert isinstance(entry, URLPattern)
            template = "/" + prefix + pattern
            if not template.startswith(("/api/", "/^")):  # the API, and the catch-all patterns
                found.append(template)

    walk(get_resolver(), "")
    return found


def form_fields() -> list[str]:
    """Every field name the templates' forms post."""
    names: set[str] = set()
    for path in Path(django_settings.BASE_DIR, "templates").rglob("*.html"):
        names.update(re.findall(r'\bname="([a-z_]+)"', path.read_text()))
    return sorted(names - {"viewport", "color-scheme"} | {"client_id", "attachments", "password", "emoji"})


PATHS = page_paths()
FIELDS = form_fields()
_text = st.text(max_size=40) | st.sampled_from(
    ["", "\x00", "\u202e", "x" * 20_000, "0", "-1", "9" * 30, "@everyone", "👍", "<b>", "on"]
)


@st.composite
def _form(draw) -> dict[str, object]:
    form: dict[str, object] = draw(
        st.dictionaries(st.sampled_from(FIELDS), _text | st.lists(_text, min_size=2, max_size=3), max_size=4)
    )
    files = draw(st.dictionaries(st.sampled_from(FILE_FIELDS), st.binary(max_size=64), max_size=1))
    form.update({name: SimpleUploadedFile(f"{name}.png", data) for name, data in files.items()})
    return form


ANONYMOUS = ("/login/", "/register/", "/password-reset/")  # forms for people not logged in


def _order(path: str) -> tuple[bool, bool]:
    """Posts that may take the requester out of the room (leaving last of all): they go last, so
    the others' bodies reach validation rather than "not found"."""
    return bool(re.search(r"delete|logout|password|block|moderate", path)), path.endswith("/leave/")


def test_generated_form_posts_for_every_page(make_user, settings, tmp_path, caplog):
    me, ids = requester_world(make_user, settings, tmp_path, "public")  # public: "join" validates
    ids |= {"attachment_id": 1, "filename": "a.png", "name": "a.png", "uidb64": "MQ", "token": "set-password"}

    drawn: list[tuple[int, dict[str, object]]] = []
    for index in range(len(PATHS)):  # the same share for each page

        @hypothesis_settings(
            max_examples=-(-BODIES // len(PATHS)), deadline=None, derandomize=True, database=None
        )
        @given(_form())
        def draw(form: dict[str, object]) -> None:
            drawn.append((index, form))  # noqa: B023 (called at once, in this iteration)

        draw()
    assert len(drawn) >= BODIES
    drawn.sort(key=lambda body: _order(PATHS[body[0]]))

    client = Client(raise_request_exception=False)
    problems, statuses, refused = [], Counter(), 0
    caplog.set_level(logging.ERROR)
    for index, form in drawn:
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), PATHS[index])
        for headers in ({}, {"HX-Request": "true"}):
            if PATHS[index].startswith(ANONYMOUS):
                client.logout()
            else:
                client.force_login(me)  # a post may have logged out, or in as someone else
            for value in form.values():
                if hasattr(value, "seek"):
                    value.seek(0)
            before = _counts()
            response = client.post(url, form, headers=headers)
            statuses[response.status_code] += 1
            where = f"POST {PATHS[index]} {'htmx ' if headers else ''}{form!r}"[:300]
            if response.status_code >= 500:
                problems.append(f"{where}: {response.status_code}")
                continue
            shown_error = b'role="alert"' in response.content
            if response.status_code >= 400 or shown_error:
                refused += 1
                if _counts() != before:
                    problems.append(f"{where}: refused ({response.status_code}) but stored rows")
    tracebacks = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, "\n".join(problems)
    assert not tracebacks, tracebacks
    assert refused > len(drawn) // 2, statuses  # most posts reach validation and fail it
