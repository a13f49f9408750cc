"""The access matrix: to someone who is not a member, a private room, a DM and a group DM (and
their messages, members and files) answer exactly like ones that do not exist.

Generated, not listed: every route of the URL conf whose path names a room, a message, an
attachment or a user is requested with the private thing's ids and with ids that match nothing,
by every method its view answers, as an API call, a page and an htmx fragment. A new route with
such a parameter is covered without editing this file; one whose parameter this file cannot
classify fails ``test_every_route_with_an_id_is_classified`` until it is.

"Exactly like": the same status, the same body once ids and per-request tokens are normalised,
the same headers that matter, nothing stored, and no timing tell worth the name.
"""

from __future__ import annotations

import io
import re
import statistics
import time
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern
from PIL import Image
from rest_framework.test import APIClient

from messaging import changes, services, uploads
from messaging.models import Attachment, Message
from rooms import services as rooms
from rooms.models import Room

pytestmark = pytest.mark.django_db

MISSING = 987_654_321  # no row of any table has this id in a test database
ID_PARAMS = {"room_id", "message_id", "attachment_id"}  # substituted: the private thing's vs MISSING
# A user id inside a room's path is the id of a member of that room, the same in both requests
# (what is compared is the room); a user id alone names a person, and people are not private
# (anyone can search them), so those routes are outside this matrix, each with its reason.
USER_ONLY_ROUTES = {
    "api-block": "blocking is about a person, not a room; any account can be blocked",
    "avatar": "avatars are public images addressed by user id",
}
# Routes of the admin site answer non-staff with a redirect to its login before any lookup.
OUTSIDE = {"admin"}
HEADERS_THAT_MATTER = (
    "Content-Type",
    "Allow",
    "Vary",
    "Cache-Control",
    "Location",
    "Content-Disposition",
    "X-Frame-Options",
    "Content-Security-Policy",
    "WWW-Authenticate",
    "Retry-After",
)
# What a write would carry if it were allowed: every field some write endpoint reads.
WRITE_FIELDS = {
    "body": "let me in",
    "client_id": "outsider-1",
    "emoji": "👍",
    "reason": "spam",
    "note": "x",
    "name": "Renamed",
    "topic": "t",
    "role": "admin",
    "minutes": 10,
    "username": "eve",
    "level": "all",
    "message": MISSING,
    "action": "archive",
}


@dataclass(frozen=True)
class Route:
    name: str
    template: str  # e.g. "/api/rooms/<id:room_id>/members/<id:user_id>/"
    params: tuple[str, ...]
    methods: tuple[str, ...]
    multipart: bool  # an API view that takes files, not JSON

    @property
    def is_api(self) -> bool:
        return self.template.startswith("/api/")

    def url(self, values: dict[str, object]) -> str:
        return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), self.template)


def _walk(resolver: URLResolver, prefix: str = "", namespace: str = "") -> Iterator[tuple[str, str, object]]:
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            yield from _walk(entry, prefix + str(entry.pattern), entry.namespace or namespace)
        else:
            assert isinstance(entry, URLPattern)
            yield (namespace, prefix + str(entry.pattern), entry)


def _methods(callback: object) -> tuple[str, ...]:
    view = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
    if view is None:  # a function view: try both; one refusing a method refuses it for both ids
        return ("get", "post")
    return tuple(m for m in ("get", "post", "put", "patch", "delete") if hasattr(view, m))


def id_routes() -> tuple[list[Route], list[str]]:
    """(routes with a room/message/attachment/user id, routes this file cannot classify)."""
    routes, unclassified = [], []
    for namespace, template, entry in _walk(get_resolver()):
        params = tuple(re.findall(r"<(?:\w+:)?(\w+)>", template))
        groups = tuple(entry.pattern.regex.groupindex)
        if not params and not groups:
            continue
        if namespace in OUTSIDE:
            continue
        name = entry.name or template
        if set(params) & ID_PARAMS:
            rest = set(params) - ID_PARAMS - {"name"}
            if (rest and rest != {"user_id"}) or ("name" in params and "attachment_id" not in params):
                unclassified.append(template)
                continue
            view = getattr(entry.callback, "cls", None)
            multipart = view is not None and not any(
                "json" in parser.media_type for parser in view().get_parsers()
            )
            routes.append(Route(name, "/" + template, params, _methods(entry.callback), multipart))
        elif name in USER_ONLY_ROUTES:
            continue
        elif any(p.endswith("_id") or p in {"pk", "id"} for p in params) or not params:
            unclassified.append(template)  # an id-like parameter (or a regex group) of unknown kind
    return routes, unclassified


ROUTES, UNCLASSIFIED = id_routes()
# Search reads a room by name (``in:``), not by id: the same comparison by name.
SEARCHES = ["/api/search/messages/", "/search/"]
SEARCH_ROUTE_NAMES = {"api-search-messages", "search"}


def test_every_route_with_an_id_is_classified():
    assert not UNCLASSIFIED, f"classify these routes' parameters in {__name__}: {UNCLASSIFIED}"
    names = {route.name for route in ROUTES}
    # The generator found the routes the matrix was written for (so a broken walk cannot pass).
    assert {"api-room", "api-messages", "api-message-thread", "room", "message", "attachment"} <= names
    search_names = {e.name for _, _, e in _walk(get_resolver()) if e.name and "search" in e.name}
    assert search_names - {"room-invite-search", "dm-search"} == SEARCH_ROUTE_NAMES


# --- the world ----------------------------------------------------------------------------------


def _png() -> SimpleUploadedFile:
    out = io.BytesIO()
    Image.new("RGB", (4, 4), (10, 200, 30)).save(out, format="PNG")
    return SimpleUploadedFile("secret.png", out.getvalue(), content_type="image/png")


@dataclass
class Place:
    label: str
    room_id: int
    message_id: int
    attachment_id: int
    name: str
    member_id: int
    search: str  # the ``in:`` operand naming it


def _ids_from(start: int, *models: type) -> None:
    """New rows of these tables get ids from ``start`` on, so an id in a page is told apart
    from any other number in it (a "1" in ``initial-scale=1``) when bodies are normalised."""
    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            if connection.vendor == "sqlite":
                cursor.execute("DELETE FROM sqlite_sequence WHERE name = %s", [table])
                cursor.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (%s, %s)", [table, start])
            else:
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST(%s, nextval(pg_get_serial_sequence(%s, 'id'))))",
                    [table, start, table],
                )


@pytest.fixture
def world(make_user, settings, tmp_path):
    """alice's private room, DM and group DM (bob and carol in them), each with a root message,
    a reply, a reaction and an image; eve is in none of them, and shares no room with alice."""
    settings.SEND_RATE_LIMIT = 10_000
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = settings.STORAGES | {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}
    }
    _ids_from(4_000_000, Room, Message, Attachment)
    alice, bob = make_user("alice"), make_user("bob")
    make_user("carol")
    eve = make_user("eve")
    secret = rooms.room_create(creator=alice, name="Zanzibar", kind="private", description="quokka")
    rooms.member_add(actor=alice, room_id=secret.id, username="bob")
    dm, _ = rooms.dm_open(user=alice, usernames=["bob"])
    group, _ = rooms.dm_open(user=alice, usernames=["bob", "carol"])
    places = []
    for label, room, search in [
        ("private", secret, "zanzibar"),
        ("dm", dm, "@bob"),
        ("group", group, "@bob"),
    ]:
        image = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=_png())
        root = services.message_send(
            sender=alice, room_id=room.id, body="root", client_id=f"{label}-root", attachments=[image.id]
        ).message
        services.message_send(sender=bob, room_id=room.id, body="reply", reply_to=root.id)
        changes.reaction_toggle(user=bob, message_id=root.id, emoji="👍")
        changes.message_edit(actor=alice, message_id=root.id, body="root, edited")
        places.append(Place(label, room.id, root.id, image.id, image.name, bob.id, search))
    return {"eve": eve, "alice": alice, "bob": bob, "places": places}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)  # pages and fragments
    client.force_authenticate(user)  # the API
    return client


def _values(place: Place, *, missing: bool = False) -> dict[str, object]:
    """The ids that go in a route's path; ``missing``: ids of nothing (the member and the file
    name stay: what is compared is the room, the message, the file)."""
    if missing:
        return {
            "room_id": MISSING,
            "message_id": MISSING,
            "attachment_id": MISSING,
            "user_id": place.member_id,
            "name": place.name,
        }
    return {
        "room_id": place.room_id,
        "message_id": place.message_id,
        "attachment_id": place.attachment_id,
        "user_id": place.member_id,
        "name": place.name,
    }


_VOLATILE = re.compile(
    r'(name="csrfmiddlewaretoken" value=|name="csrf-token" content=|nonce=|CSRFToken": ?|"csrfToken": ?)"[^"]*"'
)


def _normalised(text: str, ids: dict[str, object]) -> str:
    text = _VOLATILE.sub(r'\1"…"', text)
    for key in ("room_id", "message_id", "attachment_id"):
        text = re.sub(rf"(?<![0-9]){ids[key]}(?![0-9])", f"<{key}>", text)
    return text


def _answer(response, ids: dict[str, object]) -> tuple:
    if response.get("Content-Type", "").startswith("text/event-stream"):
        # An open event stream never ends: what it was answered with (status, headers) is
        # compared; a stream opened for one and refused for the other differs in status.
        response.close()
        body = b""
    else:
        body = b"".join(response.streaming_content) if response.streaming else response.content
    headers = {h: _normalised(response.headers.get(h, ""), ids) for h in HEADERS_THAT_MATTER}
    return (
        response.status_code,
        _normalised(body.decode(errors="replace"), ids),
        headers,
        sorted(response.cookies),
    )


def _request(client: APIClient, route: Route, method: str, url: str, *, htmx: bool):
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    if method == "get":
        return client.get(url, **extra)
    if route.multipart:
        return getattr(client, method)(url, {**WRITE_FIELDS, "file": _png()}, format="multipart", **extra)
    if route.is_api:
        return getattr(client, method)(url, WRITE_FIELDS, format="json", **extra)
    return getattr(client, method)(url, WRITE_FIELDS, **extra)


def _rows() -> dict[str, list[tuple]]:
    """Every row of every table (but the sessions the test client keeps), read in the test's
    transaction: a write that slipped through shows up as an added, removed or changed row."""
    snapshot = {}
    for model in apps.get_models():
        if model._meta.label in {"sessions.Session"} or model._meta.proxy:
            continue
        fields = [
            f.attname for f in model._meta.concrete_fields if f.attname not in {"last_login", "last_seen"}
        ]
        snapshot[model._meta.label] = list(model._default_manager.order_by("pk").values_list(*fields))
    return snapshot


CASES = [(route, method) for route in ROUTES for method in route.methods]


def test_a_non_member_gets_what_a_missing_thing_gets(world):
    """Every (route, method) of ``CASES`` in one test, on one world: building it is most of the
    cost. Every mismatch is reported at once."""
    eve = _client(world["eve"])
    before = _rows()
    mismatches, shown = [], []
    for route, method in CASES:
        # Fragments are what htmx GETs; the page around a message, what a room's history GETs.
        variants = [False, True] if not route.is_api and method == "get" else [False]
        queries = ["", "?around={message_id}"] if method == "get" and route.params == ("room_id",) else [""]
        for place in world["places"]:
            seen, missing = _values(place), _values(place, missing=True)
            for query in queries:
                for htmx in variants:
                    private = _answer(
                        _request(eve, route, method, route.url(seen) + query.format(**seen), htmx=htmx), seen
                    )
                    absent = _answer(
                        _request(eve, route, method, route.url(missing) + query.format(**missing), htmx=htmx),
                        missing,
                    )
                    where = (
                        f"{method.upper()} {route.url(seen)}{query.format(**seen)} {place.label} htmx={htmx}"
                    )
                    if private != absent:
                        mismatches.append((where, _difference(private, absent)))
                    elif private[0] not in {301, 302, 400, 403, 404, 405}:  # refused, never shown
                        shown.append((where, private[0]))
    assert not mismatches, "\n".join(f"{w}: {d}" for w, d in mismatches)
    assert not shown, shown
    assert _rows() == before, "a refused request stored something"


def _difference(private: tuple, absent: tuple) -> str:
    if private[0] != absent[0]:
        return f"status {private[0]} != {absent[0]}"
    if private[2] != absent[2]:
        return f"headers {private[2]} != {absent[2]}"
    if private[3] != absent[3]:
        return f"cookies {private[3]} != {absent[3]}"
    a, b = private[1], absent[1]
    at = next((i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y), min(len(a), len(b)))
    return f"body differs at {at}: {a[max(0, at - 80) : at + 80]!r} != {b[max(0, at - 80) : at + 80]!r}"


def test_search_in_a_room_you_are_not_in_answers_like_no_such_room(world):
    eve = _client(world["eve"])
    for path in SEARCHES:
        for place in world["places"]:
            private = eve.get(path, {"q": f"root in:{place.search}"})
            nowhere = "@nosuchone" if place.search.startswith("@") else "nosuchroomhere"
            absent = eve.get(path, {"q": f"root in:{nowhere}"})
            assert private.status_code == absent.status_code, (path, place.label)
            text = _VOLATILE.sub("", private.content.decode().replace(place.search, "NAME"))
            other = _VOLATILE.sub("", absent.content.decode().replace(nowhere, "NAME"))
            assert text == other, (path, place.label)
            assert "root, edited" not in text


def test_no_page_or_list_without_an_id_shows_a_room_you_are_not_in(world):
    """Every GET route without parameters (room lists, the sidebar, browse, unread counts,
    user and DM search, the home page, ...), plain, as htmx and with a query naming the room:
    nothing of the private room, DM or group DM shows (their name, description, messages)."""
    eve = _client(world["eve"])
    markers = ("zanzibar", "quokka", "root, edited", "secret.png")
    checked, shown = [], []
    for namespace, template, entry in _walk(get_resolver()):
        if namespace in OUTSIDE or entry.pattern.regex.groupindex or re.search(r"<\w", template):
            continue
        if not isinstance(entry.pattern, RoutePattern) or "get" not in _methods(entry.callback):
            continue
        for query in ("", "?q=Zanzi", "?q=bob"):  # a prefix: an echoed query is not the name
            for htmx in (False, True):
                response = _request(
                    eve,
                    Route("", "/" + template, (), ("get",), False),
                    "get",
                    f"/{template}{query}",
                    htmx=htmx,
                )
                if response.get("Content-Type", "").startswith("text/event-stream"):
                    response.close()
                    continue
                body = (
                    b"".join(response.streaming_content) if response.streaming else response.content
                ).decode(errors="replace")
                assert response.status_code < 500, (template, query)
                shown += [(template, query, m) for m in markers if m in body.lower()]
        checked.append(template)
    assert {"", "rooms/sidebar/", "rooms/browse/", "api/rooms/", "api/unread/"} <= set(checked)
    assert not shown, shown


# --- timing --------------------------------------------------------------------------------------

TIMED = [route for route in ROUTES if "get" in route.methods]


def _medians(client, private_url: str, missing_url: str, pairs: int) -> tuple[float, float]:
    times: dict[str, list[float]] = {private_url: [], missing_url: []}
    for n in range(pairs):
        order = (private_url, missing_url) if n % 2 else (missing_url, private_url)  # interleaved
        for url in order:
            start = time.perf_counter()
            client.get(url)
            times[url].append(time.perf_counter() - start)
    return statistics.median(times[private_url]), statistics.median(times[missing_url])


@override_settings(DEBUG=False)
def test_no_timing_tell_between_a_private_and_a_missing_room(world):
    """Medians of interleaved requests, per GET route. The bound is generous on purpose: the
    machine is shared, and what matters is a tell worth the name — rendering or reading the
    room before refusing costs several times the refusal, which a 2 ms + 50% bound catches,
    while a stray index probe (tens of µs) is below any network's jitter. A route over the bound
    is measured again with more samples before it fails, so one busy moment does not decide."""
    eve = _client(world["eve"])
    place = world["places"][0]
    slow = []
    for route in TIMED:
        private_url, missing_url = route.url(_values(place)), route.url(_values(place, missing=True))
        for pairs in (7, 21):
            private, missing = _medians(eve, private_url, missing_url, pairs)
            if abs(private - missing) <= 0.002 + 0.5 * min(private, missing):
                break
        else:
            slow.append((route.template, round(private * 1000, 2), round(missing * 1000, 2)))
    assert not slow, f"median ms (private, missing): {slow}"
