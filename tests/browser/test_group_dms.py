"""Group conversations on the htmx page, in a real browser: add someone, name it, leave it; the
other people's open pages follow live."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from rooms import services
from tests.browser.conftest import search_to_invite

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_a_group_conversation_is_added_to_named_and_left_on_the_page(
    start_server, open_as, page_errors, make_user
):
    alice = make_user("alice")
    for name in ("bob", "carol", "dan"):
        make_user(name)
    group, _ = services.dm_open(user=alice, usernames=["bob", "carol"])
    server = start_server()
    bob_page = open_as(server, "bob")
    bob_page.goto(f"{server.url}/r/{group.id}/")
    alice_page = open_as(server, "alice")
    alice_page.goto(f"{server.url}/r/{group.id}/")
    for page in (alice_page, bob_page):
        expect(page.locator("#composer-body")).to_be_enabled()
    expect(bob_page.locator("#member-count")).to_have_text("3")

    alice_page.get_by_role("button", name=re.compile("Members")).click()
    panel = alice_page.locator("#member-panel")
    search_to_invite(alice_page, "da", "dan").click()
    expect(panel.locator(".member")).to_have_count(4)
    expect(bob_page.locator("#member-count")).to_have_text("4")  # member.joined, live

    alice_page.get_by_role("link", name="Name").click()
    alice_page.get_by_label("Name").fill("Launch crew")
    alice_page.get_by_role("button", name="Save").click()
    expect(alice_page.locator("#room-title")).to_have_text("Launch crew")
    expect(bob_page.locator("#room-title")).to_have_text("Launch crew")  # room.updated, live
    expect(bob_page.locator(f"#sidebar-room-{group.id}")).to_contain_text("Launch crew")

    bob_page.on("dialog", lambda dialog: dialog.accept())
    bob_page.get_by_role("button", name="Leave").click()
    bob_page.wait_for_url(f"{server.url}/")
    expect(bob_page.locator("#sidebar-rooms")).not_to_contain_text("Launch crew")
    expect(alice_page.locator("#member-count")).to_have_text("3")
    assert not page_errors.errors
    gone = bob_page.goto(f"{server.url}/r/{group.id}/")  # to who left, as missing as any room
    assert gone.status == 404
