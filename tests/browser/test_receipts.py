"""Receipts in real browsers: Alice's latest message in her DM with Bob goes sent → delivered (it
reached a page of Bob's: when he connects, or live while he looks at another page) → seen by
Bob (he opened the DM), live under her message list; after a reload it reads the same."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rooms import services

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def dm(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    make_user("bob", display_name="Bob Builder")
    room, _ = services.dm_open(user=alice, usernames=["bob"])
    return room


def say(page, text: str) -> None:
    page.locator("#composer-body").fill(text)
    page.locator("#composer-body").press("Enter")
    expect(page.locator("#messages li.message:not(.pending)").filter(has_text=text)).to_have_count(1)


def test_sent_delivered_seen_live_and_after_a_reload(start_server, open_as, page_errors, dm):
    server = start_server()
    alice = open_as(server, "alice")
    alice.get_by_role("link", name="Bob Builder").click()
    expect(alice.locator("#composer-body")).to_be_enabled()
    line = alice.locator("#receipt-line")
    expect(line).to_have_attribute("aria-live", "polite")

    say(alice, "are you there?")
    expect(line).to_have_text("Sent")  # Bob has no page open
    bob = open_as(server, "bob")  # his home page: the message reached him
    expect(line).to_have_text("Delivered")
    bob.get_by_role("link", name="Alice Liddell").click()
    expect(line).to_have_text("Seen by Bob Builder")

    bob.goto(f"{server.url}/")  # Bob looks elsewhere; a new message reaches his page live
    expect(bob.get_by_role("link", name="Alice Liddell")).to_be_visible()
    say(alice, "one more thing")
    expect(line).to_have_text("Delivered")
    alice.reload()
    expect(alice.locator("#receipt-line")).to_have_text("Delivered")
    bob.get_by_role("link", name="Alice Liddell").click()
    expect(alice.locator("#receipt-line")).to_have_text("Seen by Bob Builder")
    # Bob's own view of the same message: not his, so no "Sent"; nobody else to have seen it.
    expect(bob.locator("#receipt-line")).to_have_text("")
    assert page_errors.errors == []
