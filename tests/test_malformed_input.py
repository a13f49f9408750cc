"""Malformed input over REST: generated bodies for every write operation of the API.

Every POST, PUT, PATCH and DELETE the URL conf routes to a DRF view gets bodies drawn by
Hypothesis (a fixed seed): JSON of any shape, the operation's own field names with values of
any type, bytes that are not JSON, forms and multipart files. For each: no server error (no 5xx,
no traceback in the log), an error answers in the documented shape (``chatsite.api_errors``:
a message and a code, and the messages by field for invalid input), and a refused request stores nothing (the row
count of every table, read in one query in the test's transaction, is unchanged).

In-process (the DRF test client), not schemathesis against a server (tests/test_openapi.py does
that, for schema conformance): here each request can be checked against the database and the
log in the same transaction, hundreds of times in seconds. The paths name the requester's own
room, message and a member, so requests get past "not found" to validation.
"""

from __future__ import annotations

import json
import logging
import re
from collections import Counter

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import URLPattern, URLResolver, get_resolver
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from messaging import services
from rooms import services as rooms

pytestmark = pytest.mark.django_db

WRITE_METHODS = ("post", "put", "patch", "delete")
BODIES = 520


def write_operations() -> list[tuple[str, str, list[str], bool]]:
    """(path template, method, field names, takes files) of every API write operation."""
    found = []

    def walk(resolver: URLResolver, prefix: str) -> None:
        for entry in resolver.url_patterns:
            if isinstance(entry, URLResolver):
                walk(entry, prefix + str(entry.pattern))
                continue
            assert isinstance(entry, URLPattern)
            view = getattr(entry.callback, "cls", None)
            template = "/" + prefix + str(entry.pattern)
            if view is None or not template.startswith("/api/"):
                continue
            instance = view()
            multipart = not any("json" in parser.media_type for parser in instance.get_parsers())
            for method in WRITE_METHODS:
                if hasattr(view, method):
                    found.append((template, method, _field_names(view), multipart))

    walk(get_resolver(), "")
    return found


def _field_names(view: type) -> list[str]:
    serializer = getattr(view, "serializer_class", None)
    names = list(serializer().fields) if serializer is not None else []
    # The fields the API's views read (their serializers are chosen per method, not declared).
    return [*names, "body", "client_id", "name", "kind", "username", "usernames", "emoji", "reason", "role"]


OPERATIONS = write_operations()

_scalar = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30)
    | st.sampled_from(["\ud800", "\u202e", "\x00", "x" * 5000, "0", "-1", "9" * 30, "@", "👍"])
)
_json = st.recursive(
    _scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=10,
)


@st.composite
def _request(draw, index: int) -> tuple[int, str, object]:
    """(operation index, encoding, body)."""
    _, _, fields, multipart = OPERATIONS[index]
    if multipart:
        files = draw(
            st.dictionaries(st.sampled_from(["file", "avatar", "voice"]), st.binary(max_size=64), max_size=2)
        )
        form = draw(
            st.dictionaries(st.sampled_from(["duration", "voice", "x"]), st.text(max_size=10), max_size=2)
        )
        return index, "multipart", (form, files)
    encoding = draw(st.sampled_from(["json", "json", "json", "raw", "form"]))
    if encoding == "raw":
        return index, "raw", draw(st.binary(max_size=60) | st.text(max_size=60).map(str.encode))
    if encoding == "form":
        return index, "form", draw(st.dictionaries(st.sampled_from(fields), st.text(max_size=20), max_size=3))
    body = draw(_json | st.dictionaries(st.sampled_from(fields), _json, max_size=4))
    return index, "json", body


def _ends_something(template: str, method: str) -> bool:
    return method == "delete" or bool(
        re.search(r"leave|transfer|delete|logout|password|<id:user_id>/$", template)
    )


def _counts() -> tuple[int, ...]:
    """The row count of every table, in one query (so in one snapshot of the transaction)."""
    tables = [m._meta.db_table for m in apps.get_models() if not m._meta.proxy and m._meta.managed]
    tables = [t for t in dict.fromkeys(tables) if t != "django_session"]
    quote = connection.ops.quote_name
    sql = "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {quote(t)})" for t in tables)
    with connection.cursor() as cursor:
        cursor.execute(sql)
        return tuple(cursor.fetchone())


def _error_shape_problem(response) -> str | None:
    """None if the body is the documented error shape: a human message and a machine code, and
    for invalid input every message by field."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return f"not JSON: {response.content[:200]!r}"
    if not isinstance(body, dict) or not body:
        return f"not an object: {body!r}"
    if not (isinstance(body.get("detail"), str) and body["detail"] and isinstance(body.get("code"), str)):
        return f"no message or no code: {body!r}"
    if set(body) == {"detail", "code"}:
        return None
    if (
        set(body) != {"detail", "code", "fields"}
        or not isinstance(body["fields"], dict)
        or not body["fields"]
    ):
        return f"not the documented shape: {body!r}"
    for messages in body["fields"].values():  # {"field": ["...", ...]} (a list field's: keyed by index)
        items = messages.values() if isinstance(messages, dict) else [messages]
        for item in items:
            texts = item if isinstance(item, list) else [item]
            if not texts or not all(isinstance(t, str) and t for t in texts):
                if not isinstance(item, dict):
                    return f"validation errors without messages: {body!r}"
    return None


def _send(client: APIClient, url: str, method: str, encoding: str, body: object):
    call = getattr(client, method)
    if encoding == "json":
        return call(url, json.dumps(body, ensure_ascii=True), content_type="application/json")
    if encoding == "raw":
        return call(url, body, content_type="application/json")
    if encoding == "form":
        return call(url, body, format="multipart")
    form, files = body
    uploads = {name: SimpleUploadedFile(f"{name}.bin", data) for name, data in files.items()}
    return call(url, {**form, **uploads}, format="multipart")


def requester_world(make_user, settings, tmp_path, kind: str) -> tuple[object, dict[str, int]]:
    """The requester ("me"), owner of a ``kind`` room with Bob and a message of hers, files on
    disk and no send limit in the way; returns her and the ids the URL patterns name."""
    settings.SEND_RATE_LIMIT = 100_000
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    }
    me, bob = make_user("me"), make_user("bob")
    room = rooms.room_create(creator=me, name="Home", kind=kind)
    rooms.member_add(actor=me, room_id=room.id, username="bob")
    mine = services.message_send(sender=me, room_id=room.id, body="mine").message
    return me, {"room_id": room.id, "message_id": mine.id, "user_id": bob.id}


def test_generated_bodies_for_every_write_operation(make_user, settings, tmp_path, caplog):
    me, ids = requester_world(make_user, settings, tmp_path, "private")
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(me)

    drawn: list[tuple[int, str, object]] = []
    for index in range(len(OPERATIONS)):  # the same share for each operation

        @hypothesis_settings(
            max_examples=-(-BODIES // len(OPERATIONS)), deadline=None, derandomize=True, database=None
        )
        @given(_request(index))
        def draw(request: tuple[int, str, object]) -> None:
            drawn.append(request)

        draw()
    assert len(drawn) >= 500
    # What may take the requester out of the room, or its message away, goes last: the other
    # operations' bodies reach validation rather than "not found".
    drawn.sort(key=lambda request: _ends_something(*OPERATIONS[request[0]][:2]))
    problems, statuses = [], Counter()
    caplog.set_level(logging.ERROR)
    for index, encoding, body in drawn:
        template, method, _, _ = OPERATIONS[index]
        url = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(ids[m.group(1)]), template)
        before = _counts()
        response = _send(client, url, method, encoding, body)
        statuses[response.status_code] += 1
        where = f"{method.upper()} {template} {encoding} {body!r}"[:300]
        if response.status_code >= 500:
            problems.append(f"{where}: {response.status_code}")
        elif response.status_code >= 400:
            if (shape := _error_shape_problem(response)) is not None:
                problems.append(f"{where}: {shape}")
            if _counts() != before:
                problems.append(f"{where}: refused ({response.status_code}) but stored rows")
    tracebacks = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]
    assert not problems, "\n".join(problems)
    assert not tracebacks, tracebacks
    assert statuses[400] > len(drawn) // 3, statuses  # most bodies reach validation and fail it
