"""Room settings in a real browser: an owner's change reaches a member's open page live."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rooms import services

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_a_members_page_follows_the_owners_room_settings_live(start_server, open_as, page_errors, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General", description="Company-wide chatter")
    services.room_join(user=bob, room_id=room.id)
    server = start_server()
    bob_page = open_as(server, "bob")
    bob_page.goto(f"{server.url}/r/{room.id}/")
    expect(bob_page.locator("#composer-body")).to_be_enabled()  # the socket said hello
    expect(bob_page.get_by_role("link", name="Settings")).to_have_count(0)  # a member: no settings

    alice_page = open_as(server, "alice")
    alice_page.goto(f"{server.url}/r/{room.id}/")
    alice_page.get_by_role("link", name="Settings").click()
    alice_page.get_by_label("Name").fill("Everyone")
    alice_page.get_by_label("Topic").fill("Release on Friday")
    alice_page.get_by_role("button", name="Save").click()
    expect(alice_page.locator("#room-title")).to_have_text("Everyone")

    expect(bob_page.locator("#room-title")).to_have_text("Everyone")  # live, no reload
    expect(bob_page.locator("#room-topic")).to_have_text("Release on Friday")
    expect(bob_page.locator(f"#sidebar-room-{room.id}")).to_contain_text("Everyone")
    assert "Everyone" in bob_page.title()
    assert page_errors.errors == []
