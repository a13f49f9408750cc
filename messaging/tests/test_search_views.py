"""The search box's view: results as you type (htmx panel) and as a page."""

import pytest

from messaging.models import Message
from messaging.services import message_send
from rooms import services as rooms

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture(autouse=True)
def _no_send_limit(settings):
    settings.SEND_RATE_LIMIT = 10_000


@pytest.fixture
def uma(make_user):
    return make_user("uma", display_name="Uma Thurman")


@pytest.fixture
def ops(uma):
    return rooms.room_create(creator=uma, name="Ops")


def test_panel_shows_highlighted_messages_linking_to_the_room_at_them(client, uma, ops):
    hit = message_send(sender=uma, room_id=ops.id, body="rollback <now>").message.id
    client.force_login(uma)
    response = client.get("/search/", {"q": "rollback", "panel": "1"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert f'href="/r/{ops.id}/?around={hit}#msg-{hit}"' in html
    assert "<mark>rollback</mark> &lt;now&gt;" in html
    assert "#&nbsp;Ops" in html and "Uma Thurman" in html


def test_people_and_public_rooms_are_found_by_the_same_box(client, uma, ops, make_user):
    make_user("opsbot", display_name="Robot")
    rooms.room_create(creator=make_user("zed"), name="Ops Two")
    client.force_login(uma)
    html = client.get("/search/", {"q": "ops", "panel": "1"}, **HTMX).content.decode()
    assert "@opsbot" in html and "Message opsbot" in html
    assert "Open Ops</a>" in html and "Join Ops Two" in html
    html = client.get("/search/", {"q": "@opsb", "panel": "1"}, **HTMX).content.decode()
    assert "@opsbot" in html
    html = client.get("/search/", {"q": "thurm", "panel": "1"}, **HTMX).content.decode()
    assert "@uma" in html and "Message uma" not in html  # oneself: no DM button


def test_a_bad_operator_shows_its_reason(client, uma):
    client.force_login(uma)
    panel = client.get("/search/", {"q": "before:tomorrow", "panel": "1"}, **HTMX)
    assert panel.status_code == 200 and "before: needs a date like 2026-11-21" in panel.content.decode()
    page = client.get("/search/", {"q": "before:tomorrow"})
    assert page.status_code == 400 and 'role="alert"' in page.content.decode()


def test_the_page_shows_results_with_the_order_toggle_and_more(client, uma, ops):
    for i in range(21):
        message_send(sender=uma, room_id=ops.id, body=f"report {i}")
    client.force_login(uma)
    html = client.get("/search/", {"q": "report", "order": "relevant"}).content.decode()
    assert '<h1 id="search-title">' in html and html.count('class="search-hit"') == 20
    assert 'value="relevant" checked' in html
    assert "offset=20" in html
    rest = client.get("/search/", {"q": "report", "offset": "20"}).content.decode()
    assert rest.count('class="search-hit"') == 1 and "offset=40" not in rest
    newest = client.get("/search/", {"q": "report"}).content.decode()
    twentieth = Message.objects.filter(body="report 1").get().id  # newest first: 20 … 1, then 0
    assert f"before={twentieth}" in newest and "offset=" not in newest
    oldest = client.get("/search/", {"q": "report", "before": str(twentieth)}).content.decode()
    first = Message.objects.get(body="report 0").id
    assert oldest.count('class="search-hit"') == 1 and f'data-message-id="{first}"' in oldest
    assert "before=" not in oldest


def test_every_chat_page_has_the_search_box(client, uma, ops):
    client.force_login(uma)
    html = client.get(f"/r/{ops.id}/").content.decode()
    assert 'id="search-q"' in html and 'aria-keyshortcuts="/ Control+K"' in html


def test_search_needs_a_login(client):
    response = client.get("/search/", {"q": "x"})
    assert response.status_code == 302 and response["Location"].startswith("/login/")
