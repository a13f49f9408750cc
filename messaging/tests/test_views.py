"""The chat pages and the message htmx endpoints."""

import re

import pytest
from django.test import Client

from accounts.models import User
from chatsite.realtime.selectors import latest_seq
from conftest import elements
from messaging import reads as services_reads
from messaging.models import Message
from messaging.services import message_send
from rooms import services

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
MISSING = 999_999


@pytest.fixture
def owner(make_user):
    return make_user("olga", display_name="Olga K")


@pytest.fixture
def room(owner):
    return services.room_create(creator=owner, name="General", description="all hands")


@pytest.fixture
def logged_in(client):
    """The test client, logged in as the given user."""

    def log_in(user: User) -> Client:
        client.force_login(user)
        return client

    return log_in


@pytest.fixture(autouse=True)
def _no_send_limit(settings):
    settings.SEND_RATE_LIMIT = 10_000


def fill(room, sender, count: int) -> list[int]:
    return [
        message_send(sender=sender, room_id=room.id, body=f"message {i}").message.id for i in range(count)
    ]


@pytest.mark.parametrize(
    ("method", "url"),
    [("get", "/"), ("get", "/r/1/"), ("get", "/r/1/history/?before=5"), ("post", "/r/1/send/")],
)
def test_anonymous_visitors_are_sent_to_log_in(method, url):
    response = getattr(Client(), method)(url, **HTMX)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/r/{}/history/", {"before": "100"}),
        ("post", "/r/{}/send/", {"body": "x"}),
    ],
)
def test_non_members_get_the_same_404_as_for_a_missing_room(
    logged_in, make_user, owner, room, method, url, data
):
    private = services.room_create(creator=owner, name="Secret", kind="private")
    outsider = logged_in(make_user("mallory"))
    missing = getattr(outsider, method)(url.format(MISSING), data, **HTMX)
    assert missing.status_code == 404
    for room_id in (room.id, private.id):
        response = getattr(outsider, method)(url.format(room_id), data, **HTMX)
        assert response.status_code == 404
        assert response.content == missing.content
    assert not Message.objects.exists()


def test_room_page_shows_latest_50_oldest_first_with_the_seq_read_first(logged_in, owner, room):
    ids = fill(room, owner, 60)
    response = logged_in(owner).get(f"/r/{room.id}/")
    html = response.content.decode()
    shown = [int(i) for i in re.findall(r'id="msg-(\d+)"', html)]
    assert shown == ids[-50:]
    assert f'data-seq="{latest_seq()}"' in html
    assert f'hx-get="/r/{room.id}/history/?before={ids[-50]}"' in html
    assert "all hands" in html and 'id="member-count"' in html
    # The optimistic copy is cloned from the message partial, rendered blank for this user.
    assert '<template id="pending-message"><li class="message"' in html


def test_history_fragment_pages_back_by_keyset(logged_in, owner, room):
    ids = fill(room, owner, 60)
    client = logged_in(owner)
    response = client.get(f"/r/{room.id}/history/", {"before": ids[-50]}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert [int(i) for i in re.findall(r'id="msg-(\d+)"', html)] == ids[:10]
    assert "history-more" not in html  # nothing older
    assert client.get(f"/r/{room.id}/history/", {"before": "x"}, **HTMX).status_code == 400


def test_message_bodies_are_escaped(logged_in, owner, room):
    message_send(sender=owner, room_id=room.id, body='<script>alert(1)</script> <b hx-get="/x">b</b>')
    html = logged_in(owner).get(f"/r/{room.id}/").content.decode()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    body = html[html.index('class="message-body"') :]
    body = body[: body.index("</div>")]
    assert "&lt;b hx-get=" in body  # shown as text ...
    assert not any(tag == "b" or "hx-get" in attrs for tag, attrs in elements(body))  # ... not markup


def test_send_form_calls_message_send_and_returns_only_the_cleared_composer(logged_in, owner, room):
    client = logged_in(owner)
    response = client.post(f"/r/{room.id}/send/", {"body": "hello", "client_id": "c-1"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<form id="composer"') and "hello" not in html
    message = Message.objects.get()
    assert (message.body, message.client_id) == ("hello", "c-1")
    # A retry with the same client_id is idempotent.
    client.post(f"/r/{room.id}/send/", {"body": "hello", "client_id": "c-1"}, **HTMX)
    assert Message.objects.count() == 1
    response = client.post(f"/r/{room.id}/send/", {"body": "   "}, **HTMX)
    assert response.status_code == 400 and b"must not be empty" in response.content
    response = client.post(f"/r/{room.id}/send/", {"body": "no js"})
    assert response.status_code == 302 and response["Location"] == f"/r/{room.id}/"


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = [part.split() for part in header.split(";") if part.strip()]
    return {name: sources for name, *sources in directives}


def test_pages_carry_csp_without_inline_scripts(logged_in, owner, room):
    message_send(sender=owner, room_id=room.id, body="hi")
    client = logged_in(owner)
    for url in ("/", f"/r/{room.id}/", "/rooms/new/", "/rooms/browse/", "/dm/new/"):
        response = client.get(url)
        assert response.status_code == 200
        policy = csp_directives(response["Content-Security-Policy"])
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval', no host
        assert policy["object-src"] == ["'none'"]
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["base-uri"] == ["'self'"]
        assert policy["form-action"] == ["'self'"]
        html = response.content.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", html), url
        assert not re.search(r"\son[a-z]+=|hx-on", html), url


def test_csp_names_only_this_site_for_connections_and_images(logged_in, owner, room):
    """The page's socket and images come from this origin: no other ws:/wss: host, no https: host."""
    policy = csp_directives(logged_in(owner).get(f"/r/{room.id}/")["Content-Security-Policy"])
    assert policy["connect-src"] == ["'self'", "ws://testserver"]
    assert policy["img-src"] == ["'self'", "data:", "blob:"]
    secure = logged_in(owner).get(f"/r/{room.id}/", secure=True, HTTP_HOST="localhost")
    assert csp_directives(secure["Content-Security-Policy"])["connect-src"] == ["'self'", "wss://localhost"]


@pytest.mark.parametrize("before", ["", "abc", "-1", "0", "²", "٣", "１", "9" * 30])
def test_history_fragment_refuses_ids_that_are_not_ascii_digits(logged_in, owner, room, before):
    response = logged_in(owner).get(f"/r/{room.id}/history/", {"before": before})
    assert response.status_code == 400


def test_user_text_is_bidi_isolated(logged_in, owner, room):
    """A right-to-left override inside a message or a name must not reorder the page around it:
    every element holding user text carries dir="auto", which isolates it (HTML's default
    ``[dir] { unicode-bidi: isolate }``)."""
    message_send(sender=owner, room_id=room.id, body="\u202eevil override")
    html = logged_in(owner).get(f"/r/{room.id}/").content.decode()
    for css_class in ("message-body", "sender", "room-name"):
        assert re.search(rf'class="{css_class}" dir="auto"', html), css_class
    assert re.search(r'<h1 id="room-title" dir="auto"', html)
    assert "\u202eevil override" in html


# --- one message on the page: react, edit, delete, thread, history, jump ---------------------


def test_react_edit_and_delete_from_the_page_answer_the_message_in_its_new_state(logged_in, owner, room):
    mid = message_send(sender=owner, room_id=room.id, body="draft").message.id
    client = logged_in(owner)
    reacted = client.post(f"/m/{mid}/react/", {"emoji": "🎉"}, **HTMX)
    assert reacted.status_code == 200 and 'class="reaction"' in reacted.content.decode()
    form = client.get(f"/m/{mid}/edit/", **HTMX).content.decode()
    assert 'class="edit-form"' in form and ">draft</textarea>" in form
    edited = client.post(f"/m/{mid}/edit/", {"body": "final *words*"}, **HTMX).content.decode()
    assert "<em>words</em>" in edited and "(edited)" in edited
    revisions = client.get(f"/m/{mid}/revisions/", **HTMX).content.decode()
    assert "draft" in revisions
    assert client.post(f"/m/{mid}/edit/", {"body": "  "}, **HTMX).status_code == 400
    deleted = client.post(f"/m/{mid}/delete/", **HTMX).content.decode()
    assert "Message deleted" in deleted and "final" not in deleted
    assert client.post(f"/m/{mid}/react/", {"emoji": "👍"}, **HTMX).status_code == 409


def test_thread_panel_and_reply_from_the_composer(logged_in, owner, room):
    mid = message_send(sender=owner, room_id=room.id, body="question").message.id
    client = logged_in(owner)
    client.post(f"/r/{room.id}/send/", {"body": "answer", "reply_to": mid}, **HTMX)
    panel = client.get(f"/m/{mid}/thread/", **HTMX).content.decode()
    assert (
        panel.count('<li class="message') == 2 and 'id="thread-msg-' in panel and 'name="reply_to"' in panel
    )
    page = client.get(f"/r/{room.id}/").content.decode()
    assert "1 reply" in page and 'class="reply-quote"' in page
    bad = client.post(f"/r/{room.id}/send/", {"body": "x", "reply_to": MISSING}, **HTMX)
    assert bad.status_code == 400


def test_a_message_swapped_in_the_thread_panel_answers_as_the_panels_copy(logged_in, owner, room):
    """htmx names its target (HX-Target): the thread panel's copy of a message is replaced by
    markup with the panel's ids, never by a second element with the conversation's ids."""
    mid = message_send(sender=owner, room_id=room.id, body="question").message.id
    client = logged_in(owner)
    in_thread = {**HTMX, "HTTP_HX_TARGET": f"thread-msg-{mid}"}
    for answer in (
        client.post(f"/m/{mid}/react/", {"emoji": "🎉"}, **in_thread),
        client.get(f"/m/{mid}/edit/", **in_thread),
        client.get(f"/m/{mid}/", **in_thread),
    ):
        ids = [attrs["id"] for _, attrs in elements(answer.content.decode()) if attrs.get("id")]
        assert ids and all(i.startswith("thread-") for i in ids), ids
    in_conversation = {**HTMX, "HTTP_HX_TARGET": f"msg-{mid}"}
    form = client.get(f"/m/{mid}/edit/", **in_conversation).content.decode()
    assert f'id="msg-{mid}"' in form and f'id="edit-{mid}"' in form and "autofocus" in form


def test_a_room_opens_around_a_message(logged_in, owner, room):
    ids = fill(room, owner, 120)
    html = logged_in(owner).get(f"/r/{room.id}/", {"around": ids[60]}).content.decode()
    shown = [int(i) for i in re.findall(r'id="msg-(\d+)"', html)]
    assert ids[60] in shown and shown[0] < ids[60] < shown[-1]
    assert "history-newer" in html and "history-more" in html
    newer = logged_in(owner).get(f"/r/{room.id}/history/", {"after": shown[-1]}, **HTMX).content.decode()
    assert next(int(i) for i in re.findall(r'id="msg-(\d+)"', newer)) == shown[-1] + 1


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", "/m/{}/"), ("post", "/m/{}/react/"), ("get", "/m/{}/edit/"), ("post", "/m/{}/edit/"),
     ("post", "/m/{}/delete/"), ("get", "/m/{}/thread/"), ("get", "/m/{}/revisions/")],
)  # fmt: skip
def test_a_message_in_a_room_you_are_not_in_is_a_404_like_a_missing_one(
    logged_in, owner, room, make_user, method, path
):
    mid = message_send(sender=owner, room_id=room.id, body="private").message.id
    client = logged_in(make_user("eve"))
    foreign = getattr(client, method)(path.format(mid), {"emoji": "👍", "body": "x"}, **HTMX)
    missing = getattr(client, method)(path.format(MISSING), {"emoji": "👍", "body": "x"}, **HTMX)
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content
    assert Message.objects.get(pk=mid).body == "private"


def test_room_page_marks_the_first_unread_with_a_divider_and_a_jump(logged_in, owner, room, make_user):
    reader = make_user()
    services.room_join(user=reader, room_id=room.id)
    read = fill(room, owner, 3)
    services_reads.read_mark(user=reader, room_id=room.id, message_id=read[-1])
    message_send(sender=reader, room_id=room.id, body="my own is never unread")
    unread = fill(room, owner, 2)
    html = logged_in(reader).get(f"/r/{room.id}/").content.decode()
    shown = re.findall(r'id="(unread-divider|msg-\d+)"', html)
    assert shown.index("unread-divider") == shown.index(f"msg-{unread[0]}") - 1
    assert f'href="?around={unread[0]}#msg-{unread[0]}" data-jump-unread="{unread[0]}"' in html
    # Nothing unread: no divider, no jump.
    services_reads.read_mark(user=reader, room_id=room.id, message_id=unread[-1])
    html = logged_in(reader).get(f"/r/{room.id}/").content.decode()
    assert "unread-divider" not in html and "jump-unread" not in html


def test_sidebar_items_carry_unread_and_mention_badges_for_the_page(logged_in, owner, room):
    html = logged_in(owner).get("/").content.decode()
    item = html[html.index(f'id="sidebar-room-{room.id}"') :]
    assert "data-unread hidden" in item and "data-mentions hidden" in item
    assert "unread</span>" in item and "you were mentioned" in item  # read out by screen readers


def test_a_public_room_shows_non_members_a_read_only_preview_with_a_join_button(
    logged_in, make_user, owner, room
):
    message_send(sender=owner, room_id=room.id, body="**hello** outsiders", client_id="p1")
    outsider = logged_in(make_user("mallory"))
    page = outsider.get(f"/r/{room.id}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<strong>hello</strong> outsiders" in html
    assert f'action="/rooms/{room.id}/join/"' in html
    assert "Message actions" not in html and 'id="composer' not in html  # read-only
    assert "data-room-id" not in html  # the page's socket is not told this is its room
    assert "1 member" in html
    outsider.post(f"/rooms/{room.id}/join/")
    joined = outsider.get(f"/r/{room.id}/").content.decode()
    assert 'id="composer' in joined


def test_the_preview_shows_only_recent_history(logged_in, make_user, owner, room):
    ids = fill(room, owner, 35)
    html = logged_in(make_user("mallory")).get(f"/r/{room.id}/").content.decode()
    assert f'id="msg-{ids[-1]}"' in html and f'id="msg-{ids[-30]}"' in html
    assert f'id="msg-{ids[-31]}"' not in html
    assert "history-more" not in html


def test_private_rooms_and_dms_stay_an_identical_404_for_non_members(logged_in, make_user, owner):
    private = services.room_create(creator=owner, name="Secret", kind="private")
    make_user("bob")
    dm, _ = services.dm_open(user=owner, usernames=["bob"])
    message_send(sender=owner, room_id=private.id, body="secret plans", client_id="s1")
    outsider = logged_in(make_user("mallory"))
    missing = outsider.get(f"/r/{MISSING}/")
    for room_id in (private.id, dm.id):
        response = outsider.get(f"/r/{room_id}/")
        assert (response.status_code, response.content) == (404, missing.content)


def test_an_empty_room_opens_with_an_intro(logged_in, owner, room):
    html = logged_in(owner).get(f"/r/{room.id}/").content.decode()
    assert 'id="room-intro"' in html
    assert "This is the start of" in html and "all hands" in html and "say hello" in html


def test_the_intro_waits_until_the_oldest_message_is_on_the_page(logged_in, owner, room):
    fill(room, owner, 60)
    html = logged_in(owner).get(f"/r/{room.id}/").content.decode()
    assert 'id="room-intro"' not in html  # older history is still to load
