"""The web chat in a real browser against a real server process.

Data is created through the services (the test database is shared with the server process);
everything the people in these tests see arrives the way it does in production.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from playwright.sync_api import expect

from messaging.models import Message
from messaging.services import message_send
from rooms import services
from tests.browser.conftest import DESKTOP, MOBILE, off_loop, save_screenshot, search_to_invite

pytestmark = [pytest.mark.browser, pytest.mark.server]

TIME = re.compile(r"^\d{1,2}:\d{2}")


@pytest.fixture
def people(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    bob = make_user("bob", display_name="Bob Builder")
    carol = make_user("carol")
    return alice, bob, carol


@pytest.fixture
def general(people):
    alice, bob, _ = people
    room = services.room_create(creator=alice, name="General", description="Company-wide chatter")
    services.room_join(user=bob, room_id=room.id)
    return room


def messages(page):
    return page.locator("#messages li.message")


def post_from(page, room_id: int, body: str) -> None:
    """Send as the page's user through the composer's htmx form endpoint, from outside the page.

    Live events must come from the server process (on the embedded default each process has
    its own in-memory channel layer), so messages that should arrive live go through it.
    """
    origin = re.match(r"https?://[^/]+", page.url).group(0)
    token = next(c["value"] for c in page.context.cookies() if c["name"] == "csrftoken")
    response = page.request.post(
        f"{origin}/r/{room_id}/send/",
        form={"body": body},
        headers={"X-CSRFToken": token, "HX-Request": "true"},
    )
    assert response.status == 200, response.text()


def test_a_message_typed_by_one_person_appears_for_the_other(
    start_server, open_as, page_errors, people, general
):
    alice, bob, _ = people
    random = services.room_create(creator=bob, name="Random", description="Off-topic")
    services.room_join(user=alice, room_id=random.id)
    services.dm_open(user=alice, usernames=["bob"])
    yesterday = timezone.now() - timedelta(days=1)
    for i, (sender, body) in enumerate(
        [(alice, "Morning! Stand-up in 10."), (bob, "On my way."), (bob, "Bringing coffee")]
    ):
        message_send(sender=sender, room_id=general.id, body=body)
        Message.objects.filter(body=body).update(created_at=yesterday + timedelta(minutes=i))
    message_send(sender=alice, room_id=general.id, body="<script>alert('x')</script> is just text")

    server = start_server()
    alice_page = open_as(server, "alice")
    bob_page = open_as(server, "bob", color_scheme="dark")
    for page in (alice_page, bob_page):
        page.get_by_role("link", name="General").click()
        expect(page.locator("#composer-body")).to_be_enabled()  # the socket said hello
    expect(messages(bob_page)).to_have_count(4)
    expect(bob_page.locator("#messages .day-separator")).to_have_count(2)  # yesterday, today
    expect(bob_page.locator("#messages li.message.grouped")).to_have_count(1)  # bob's second line

    alice_page.locator("#composer-body").fill("Hello Bob")
    alice_page.locator("#composer-body").press("Enter")
    arrived = messages(bob_page).filter(has_text="Hello Bob")
    expect(arrived).to_have_count(1)  # how fast is bench/'s to judge, not this test's
    expect(arrived.locator(".sender")).to_have_text("Alice Liddell")
    expect(arrived.locator("time")).to_have_text(TIME)
    assert arrived.locator("time").get_attribute("title")  # the full timestamp on hover

    # The sender's optimistic copy is replaced by the real one (by client_id): once, not pending.
    mine = messages(alice_page).filter(has_text="Hello Bob")
    expect(mine).to_have_count(1)
    expect(mine).not_to_have_class(re.compile("pending"))
    expect(mine).to_have_attribute("id", re.compile(r"^msg-\d+$"))
    time.sleep(0.3)
    expect(messages(bob_page).filter(has_text="Hello Bob")).to_have_count(1)

    # Shift+Enter is a new line; the body stays text, whatever it contains.
    bob_page.locator("#composer-body").press("Shift+Enter")
    expect(bob_page.locator("#composer-body")).to_have_value("\n")
    bob_page.locator("#composer-body").fill("Hi! <b hx-get='/'>not bold</b>")
    bob_page.locator("#composer-body").press("Enter")
    expect(messages(alice_page).filter(has_text="<b hx-get='/'>not bold</b>")).to_have_count(1)
    expect(alice_page.locator("#messages b")).to_have_count(0)
    expect(alice_page.locator("#live-announcer")).to_contain_text("Bob Builder")

    # A message in another room bumps that room to the top of the sidebar, with a badge.
    post_from(bob_page, random.id, "lunch?")
    first_room = alice_page.locator("#sidebar-rooms .room-list").first.locator(".room-item").first
    expect(first_room).to_contain_text("Random")
    expect(first_room.locator("[data-unread]")).to_be_visible()

    save_screenshot(alice_page, "desktop-light.png")
    save_screenshot(bob_page, "desktop-dark.png")
    assert not page_errors.errors


def test_scrolling_up_loads_older_history(start_server, open_as, page_errors, people, general):
    alice, bob, _ = people
    for i in range(120):
        message_send(sender=alice if i % 3 else bob, room_id=general.id, body=f"history line {i:03d}")
    cache.clear()  # the seeding drew on the send budget the server (sharing the cache) enforces
    server = start_server()
    alice_page = open_as(server, "alice")
    page = open_as(server, "bob")
    page.goto(f"{server.url}/r/{general.id}/")
    expect(messages(page)).to_have_count(50)
    expect(messages(page).last).to_be_in_viewport()  # opens scrolled to the bottom
    expect(messages(page).first).to_contain_text("history line 070")

    page.locator("#messages").evaluate("el => { el.scrollTop = 0; }")
    expect(messages(page)).to_have_count(100)
    expect(messages(page).first).to_contain_text("history line 020")
    # The reader keeps their place: what they were looking at is still in view.
    expect(messages(page).filter(has_text="history line 070")).to_be_in_viewport()
    page.locator("#messages").evaluate("el => { el.scrollTop = 0; }")
    expect(messages(page)).to_have_count(120)
    expect(page.locator(".history-more")).to_have_count(0)
    ids = [int(i) for i in messages(page).evaluate_all("els => els.map(e => e.dataset.id)")]
    assert ids == sorted(ids) and len(set(ids)) == 120

    # Scrolled up, a new message does not yank the view: a "new messages" pill appears.
    post_from(alice_page, general.id, "fresh news")
    expect(page.get_by_role("button", name="New messages")).to_be_visible()
    page.get_by_role("button", name="New messages").click()
    expect(messages(page).filter(has_text="fresh news")).to_be_in_viewport()
    expect(page.get_by_role("button", name="New messages")).to_be_hidden()
    assert not page_errors.errors


def test_after_a_dropped_connection_messages_sent_meanwhile_appear_exactly_once(
    start_server, start_on_port, open_as, people, general
):
    _, bob, _ = people
    message_send(sender=bob, room_id=general.id, body="before the outage")
    server = start_server()
    alice_page = open_as(server, "alice")
    alice_page.goto(f"{server.url}/r/{general.id}/")
    expect(alice_page.locator("#composer-body")).to_be_enabled()

    server.kill()  # the real thing: the process is gone, the socket drops
    banner = alice_page.locator("#connection-banner")
    expect(banner).to_have_text(re.compile("Reconnecting"))
    expect(alice_page.locator("#composer-body")).to_be_disabled()
    for i in range(3):
        off_loop(message_send, sender=bob, room_id=general.id, body=f"while you were away {i}")

    revived = start_on_port(server.port)
    expect(banner).to_be_hidden(timeout=15_000)
    expect(alice_page.locator("#composer-body")).to_be_enabled()
    for i in range(3):
        expect(messages(alice_page).filter(has_text=f"while you were away {i}")).to_have_count(1)
    expect(messages(alice_page).filter(has_text="before the outage")).to_have_count(1)

    # Live again, both ways, and still nothing doubled.
    bob_page = open_as(revived, "bob")
    bob_page.goto(f"{revived.url}/r/{general.id}/")
    expect(bob_page.locator("#composer-body")).to_be_enabled()
    alice_page.locator("#composer-body").fill("back online")
    alice_page.locator("#composer-body").press("Enter")
    expect(messages(bob_page).filter(has_text="back online")).to_have_count(1)
    time.sleep(0.5)
    expect(messages(alice_page)).to_have_count(5)
    assert off_loop(Message.objects.filter(room=general).count) == 5


def test_a_dm_started_from_username_search_works(start_server, open_as, page_errors, people):
    server = start_server()
    bob_page = open_as(server, "bob")
    alice_page = open_as(server, "alice")
    alice_page.get_by_role("link", name="New message").click()
    alice_page.wait_for_url(re.compile(r"/dm/new/$"))
    alice_page.wait_for_load_state()  # htmx has bound the search field (a deferred script)
    alice_page.get_by_label("Username").fill("bo")
    alice_page.get_by_label("bob").check()
    alice_page.get_by_role("button", name="Start conversation").click()
    alice_page.wait_for_url(re.compile(r"/r/\d+/$"))
    expect(alice_page.get_by_role("heading", level=1)).to_have_text("Bob Builder")  # by display name
    expect(alice_page.locator("#composer-body")).to_be_enabled()
    alice_page.locator("#composer-body").fill("psst, Bob")
    alice_page.locator("#composer-body").press("Enter")

    # Bob, on another page, sees the new conversation arrive in his sidebar, unread.
    dm_link = bob_page.locator("#sidebar-rooms").get_by_role(
        "link", name=re.compile("Alice Liddell")
    )  # by display name
    expect(dm_link).to_be_visible()
    expect(dm_link.locator("[data-unread]")).to_be_visible()
    dm_link.click()
    expect(messages(bob_page).filter(has_text="psst, Bob")).to_have_count(1)
    expect(bob_page.locator("#composer-body")).to_be_enabled()  # the new page's socket said hello
    bob_page.locator("#composer-body").fill("hi Alice")
    bob_page.locator("#composer-body").press("Enter")
    expect(messages(alice_page).filter(has_text="hi Alice")).to_have_count(1)
    assert not page_errors.errors


def test_at_375px_the_sidebar_is_a_drawer(start_server, open_as, page_errors, people, general):
    alice, bob, _ = people
    message_send(sender=bob, room_id=general.id, body="Works on my phone too")
    message_send(sender=alice, room_id=general.id, body="Looks great at 375 px.")
    services.room_create(creator=alice, name="Design")
    server = start_server()
    page = open_as(server, "alice", viewport=MOBILE)
    page.goto(f"{server.url}/r/{general.id}/")
    sidebar = page.locator("#sidebar")
    toggle = page.get_by_role("button", name="Rooms and messages")
    expect(sidebar).to_be_hidden()
    expect(page.locator("#composer-body")).to_be_enabled()
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    save_screenshot(page, "mobile.png")

    toggle.click()
    expect(sidebar).to_be_visible()
    expect(toggle).to_have_attribute("aria-expanded", "true")
    save_screenshot(page, "mobile-drawer.png")
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(toggle).to_be_focused()
    toggle.click()
    sidebar.get_by_role("link", name="Design").click()
    page.wait_for_url(re.compile(r"/r/\d+/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Design")
    expect(sidebar).to_be_hidden()
    page.set_viewport_size(DESKTOP)
    expect(sidebar).to_be_visible()
    assert not page_errors.errors


def test_invite_with_active_search_and_leave_update_the_room_live(
    start_server, open_as, page_errors, people, general
):
    server = start_server()
    bob_page = open_as(server, "bob")
    bob_page.goto(f"{server.url}/r/{general.id}/")
    alice_page = open_as(server, "alice")
    alice_page.goto(f"{server.url}/r/{general.id}/")
    expect(alice_page.locator("#composer-body")).to_be_enabled()
    expect(bob_page.locator("#composer-body")).to_be_enabled()

    members_button = alice_page.get_by_role("button", name=re.compile("Members"))
    members_button.click()
    panel = alice_page.locator("#member-panel")
    expect(panel).to_be_visible()
    expect(panel.locator(".member")).to_have_count(2)
    search_to_invite(alice_page, "car", "carol").click()  # an htmx POST: CSRF header from <body>
    expect(panel.locator(".member")).to_have_count(3)
    expect(alice_page.locator("#member-count")).to_have_text("3")
    expect(bob_page.locator("#member-count")).to_have_text("3")  # member.joined, live

    bob_page.on("dialog", lambda dialog: dialog.accept())
    bob_page.get_by_role("button", name="Leave").click()
    bob_page.wait_for_url(f"{server.url}/r/{general.id}/")  # a public room: its preview
    expect(bob_page.get_by_role("button", name="Join General")).to_be_visible()
    expect(bob_page.locator("#sidebar-rooms")).not_to_contain_text("General")
    expect(alice_page.locator("#member-count")).to_have_text("2")

    # The theme toggle applies at once and is remembered for the user.
    with alice_page.expect_response(f"{server.url}/account/theme/") as saved:
        alice_page.get_by_label("Theme").select_option("dark")
    expect(alice_page.locator("html")).to_have_attribute("data-theme", "dark")
    assert saved.value.status == 204
    alice_page.reload()
    expect(alice_page.locator("html")).to_have_attribute("data-theme", "dark")
    assert not page_errors.errors


def test_a_refused_send_is_marked_failed_and_can_be_retried(
    start_server, open_as, page_errors, people, general
):
    # A real refusal from the server: a send budget of 2 messages per 5 s window. Five sends
    # span at most two windows, so at least one is refused.
    server = start_server(extra_env={"SEND_RATE_LIMIT": "2", "SEND_RATE_WINDOW": "5"})
    page = open_as(server, "alice")
    page.goto(f"{server.url}/r/{general.id}/")
    composer = page.locator("#composer-body")
    expect(composer).to_be_enabled()
    for i in range(5):
        composer.fill(f"burst {i}")
        composer.press("Enter")
    failed = page.locator("#messages li.message.failed")
    expect(failed.first).to_contain_text("too fast")
    deadline = time.monotonic() + 20
    while failed.count() and time.monotonic() < deadline:
        page.wait_for_timeout(1000)
        retry = failed.first.get_by_role("button", name="Retry")
        if retry.count():
            retry.click()  # the same client_id again: idempotent
            page.wait_for_timeout(300)
    expect(failed).to_have_count(0)
    expect(page.locator("#messages li.message.pending")).to_have_count(0)
    for i in range(5):
        expect(messages(page).filter(has_text=f"burst {i}")).to_have_count(1)
    assert not page_errors.errors


UNLABELLED_CONTROLS = """() => [...document.querySelectorAll('button, input:not([type=hidden]), select, textarea, a[href]')]
  .filter(el => el.offsetParent !== null)
  .filter(el => !((el.labels && el.labels.length) || el.getAttribute('aria-label') || el.textContent.trim()))
  .map(el => el.outerHTML)"""


def test_keyboard_only_use_and_labelled_controls(start_server, open_as, page_errors, people, general):
    server = start_server()
    page = open_as(server, "alice")
    for url in ("/", f"/r/{general.id}/", "/rooms/new/", "/rooms/browse/", "/dm/new/"):
        page.goto(f"{server.url}{url}")
        assert page.evaluate(UNLABELLED_CONTROLS) == [], url

    page.goto(f"{server.url}/r/{general.id}/")
    expect(page.locator("#composer-body")).to_be_enabled()
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    # Open the member panel from the keyboard: focus lands in it, Escape returns to the button.
    page.get_by_role("button", name=re.compile("Members")).focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Members", level=2)).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#member-panel")).to_be_hidden()
    expect(page.get_by_role("button", name=re.compile("Members"))).to_be_focused()
    # Tab order reaches the composer after the conversation; Enter sends.
    for _ in range(6):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "composer-body":
            break
    expect(page.locator("#composer-body")).to_be_focused()
    page.keyboard.type("typed without a mouse")
    page.keyboard.press("Enter")
    expect(messages(page).filter(has_text="typed without a mouse")).to_have_count(1)
    expect(page.locator("#live-announcer")).to_have_attribute("aria-live", "polite")
    assert not page_errors.errors
