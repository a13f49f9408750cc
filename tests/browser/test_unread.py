"""Unread counts in a real browser: badges and the tab title from the server's read pointers,
correct after a reload; opening a room shows the "new messages" divider and marks read only what
is on screen; the reader's other tab clears its badges at once."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache
from playwright.sync_api import expect

from messaging import services as messaging
from rooms import services
from rooms.models import Membership
from tests.browser.conftest import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(autouse=True)
def _no_send_limit(settings):
    settings.SEND_RATE_LIMIT = 10_000


@pytest.fixture
def rooms(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    bob = make_user("bob", display_name="Bob Builder")
    general = services.room_create(creator=alice, name="General")
    busy = services.room_create(creator=alice, name="Busy")
    for room in (general, busy):
        services.room_join(user=bob, room_id=room.id)
    return alice, bob, general, busy


def badges(page, name: str):
    item = page.locator(".room-item").filter(has=page.get_by_role("link", name=name))
    return item.locator("[data-unread]"), item.locator("[data-mentions]")


def test_unread_and_mention_badges_survive_a_reload_and_reading_clears_every_tab(
    start_server, open_as, page_errors, rooms
):
    alice_user, bob_user, general, busy = rooms
    # 120 unread in Busy before Bob looks: the server counts to 100 and the page shows 99+.
    for i in range(120):
        off_loop(
            messaging.message_send, sender=alice_user, room_id=busy.id, body=f"busy {i}", client_id=f"b{i}"
        )
    off_loop(cache.clear)  # those sends drew on Alice's send budget, which the server shares (Redis)
    server = start_server()
    alice, bob = open_as(server, "alice"), open_as(server, "bob")
    count, mention = badges(bob, "General")
    busy_count, busy_mention = badges(bob, "Busy")
    expect(busy_count).to_have_text(re.compile(r"99\+"))
    expect(busy_mention).to_be_hidden()
    expect(count).to_be_hidden()

    alice.get_by_role("link", name="General").click()
    expect(alice.locator("#composer-body")).to_be_enabled()
    for text in ("first unread", "@bob have a look", "third"):
        alice.locator("#composer-body").fill(text)
        alice.locator("#composer-body").press("Enter")
        expect(alice.locator("#messages li.message[id^='msg-']").filter(has_text=text)).to_have_count(1)

    # Live on Bob's page, then the same after a reload (the server's pointers, not page memory).
    for attempt in ("live", "reloaded"):
        expect(count).to_have_text(re.compile(r"\b3 unread"), timeout=10_000)
        expect(mention).to_be_visible()
        expect(bob).to_have_title(re.compile(r"^\(99\+\) "))
        if attempt == "live":
            bob.reload()

    # A second tab of Bob's, on the home page, watches while the first one opens the room.
    other_tab = bob.context.new_page()
    other_tab.goto(f"{server.url}/")
    other_count, other_mention = badges(other_tab, "General")
    expect(other_count).to_have_text(re.compile(r"\b3 unread"))
    bob.get_by_role("link", name="General").click()
    expect(bob.locator("#composer-body")).to_be_enabled()
    divider = bob.locator("#messages .unread-divider")
    expect(divider).to_have_text("New messages")
    first = bob.locator("#messages li.message").filter(has_text="first unread")
    assert divider.evaluate("el => el.nextElementSibling.id") == first.get_attribute("id") or (
        divider.evaluate("el => el.nextElementSibling.nextElementSibling.id") == first.get_attribute("id")
    )
    expect(bob.locator("#jump-unread")).to_be_visible()
    # All three are on screen: read, and both tabs hear it at once.
    expect(other_count).to_be_hidden(timeout=10_000)
    expect(other_mention).to_be_hidden()
    expect(other_tab).to_have_title(re.compile(r"^\(99\+\) "))  # Busy is still unread
    expect(count).to_be_hidden()
    last_id = int(bob.locator("#messages li.message").last.get_attribute("data-id"))
    pointer = off_loop(lambda: Membership.objects.get(user=bob_user, room=general).last_read_message_id)
    assert pointer == last_id

    # A message that arrives while Bob reads the room is read at once; one in Busy is counted.
    alice.locator("#composer-body").fill("while you watch")
    alice.locator("#composer-body").press("Enter")
    expect(bob.locator("#messages li.message").filter(has_text="while you watch")).to_be_visible()
    expect(other_count).to_be_hidden()
    assert page_errors.errors == []


def test_only_what_is_on_screen_in_a_visible_tab_is_marked_read(start_server, open_as, page_errors, rooms):
    alice_user, bob_user, general, _ = rooms
    sent = [
        off_loop(
            messaging.message_send, sender=alice_user, room_id=general.id, body=f"line {i}", client_id=f"g{i}"
        )
        for i in range(30)
    ]
    off_loop(cache.clear)
    ids = [result.message.id for result in sent]

    def pointer() -> int:
        return off_loop(lambda: Membership.objects.get(user=bob_user, room=general).last_read_message_id)

    server = start_server()
    bob = open_as(server, "bob")
    # Bob's tab is in the background (the page reads document.visibilityState, as browsers set it).
    bob.context.add_init_script(
        "Object.defineProperty(document, 'visibilityState', {get: () => 'hidden', configurable: true})"
    )
    bob.get_by_role("link", name="General").click()
    expect(bob.locator("#composer-body")).to_be_enabled()
    expect(bob.locator("#messages .unread-divider")).to_be_visible()  # scrolled to the first unread
    bob.wait_for_timeout(2500)  # more than the page's read delay
    assert pointer() == 0  # hidden: nothing was seen
    # The tab comes to the front: what is on screen is read, not what is below it.
    bob.evaluate(
        "() => { Object.defineProperty(document, 'visibilityState', {get: () => 'visible', configurable: true});"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    read = 0
    for _ in range(50):
        read = pointer()
        if read:
            break
        bob.wait_for_timeout(200)
    assert ids[0] <= read < ids[-1], (read, ids[0], ids[-1])
    count, _ = badges(bob, "General")
    expect(count).to_be_visible()  # some are still unread
    # Scrolled to the end: all read.
    bob.locator("#messages").evaluate("el => { el.scrollTop = el.scrollHeight; }")
    expect(count).to_be_hidden(timeout=10_000)
    assert pointer() == ids[-1]
    assert page_errors.errors == []
