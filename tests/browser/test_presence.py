"""Presence in real browsers: Bob, in his DM with Alice, sees her go online → away (her page
idle for the away time) → online again (she types) → offline (she closes her page), live in the
DM's header and in his DM list; the member panel reads the same state when opened."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rooms import services

pytestmark = [pytest.mark.browser, pytest.mark.server]

AWAY_SECONDS = 4
SERVER_ENV = {"PRESENCE_AWAY_SECONDS": str(AWAY_SECONDS), "PRESENCE_PUSH_SECONDS": "1"}


@pytest.fixture
def dm(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    make_user("bob", display_name="Bob Builder")
    room, _ = services.dm_open(user=alice, usernames=["bob"])
    return alice, room


def test_online_away_online_offline_live_in_the_dm_header_and_list(start_server, open_as, page_errors, dm):
    alice, room = dm
    server = start_server(extra_env=SERVER_ENV)
    bob = open_as(server, "bob")
    bob.get_by_role("link", name="Alice Liddell").click()
    expect(bob.locator("#composer-body")).to_be_enabled()
    header = bob.locator(f'.room-presence [data-presence-user="{alice.id}"]')
    listed = bob.locator(f'#sidebar-room-{room.id} [data-presence-user="{alice.id}"]')
    expect(header).to_have_attribute("data-state", "offline")

    alice_page = open_as(server, "alice")  # logging in is activity
    expect(header).to_have_attribute("data-state", "online")
    expect(header).to_have_text("Online")
    expect(listed).to_have_attribute("data-state", "online")
    expect(listed).to_have_text(", Online")  # for screen readers; the dot shows it to the eye

    # Alice leaves her page alone: after the away time it reports her away.
    expect(header).to_have_attribute("data-state", "away", timeout=(AWAY_SECONDS + 6) * 1000)
    expect(header).to_have_text("Away")
    expect(listed).to_have_attribute("data-state", "away")
    bob.locator("#members-toggle").click()
    member = bob.locator(f'#member-panel [data-presence-user="{alice.id}"]')
    expect(member).to_have_attribute("data-state", "away")

    alice_page.keyboard.press("Tab")  # back at her keyboard
    expect(header).to_have_attribute("data-state", "online")
    expect(member).to_have_attribute("data-state", "online")  # the open panel follows too

    alice_page.context.close()
    expect(header).to_have_attribute("data-state", "offline")
    expect(header).to_have_text("Last seen just now")
    expect(listed).to_have_attribute("data-state", "offline")
    assert page_errors.errors == []
