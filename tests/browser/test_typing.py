"""Typing in real browsers: one, two, then several typists; a typist who goes quiet is forgotten
by the readers' pages after their timeout; the typist never sees themselves."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rooms import services

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def general(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    room = services.room_create(creator=alice, name="General")
    for name in ("bob", "carol", "dave"):
        services.room_join(user=make_user(name), room_id=room.id)
    return room


def test_one_two_several_typists_and_a_quiet_one_is_forgotten(start_server, open_as, page_errors, general):
    server = start_server()
    pages = {name: open_as(server, name) for name in ("alice", "bob", "carol", "dave")}
    for page in pages.values():
        page.get_by_role("link", name="General").click()
        expect(page.locator("#composer-body")).to_be_enabled()
    line = pages["alice"].locator("#typing-indicator")
    expect(line).to_have_attribute("aria-live", "polite")

    pages["bob"].locator("#composer-body").press_sequentially("hel")
    expect(line).to_have_text("bob is typing…")
    expect(pages["bob"].locator("#typing-indicator")).to_have_text("")  # never to the typist
    pages["carol"].locator("#composer-body").press_sequentially("hi")
    expect(line).to_have_text("bob and carol are typing…")
    pages["dave"].locator("#composer-body").press_sequentially("yo")
    expect(line).to_have_text("Several people are typing…")

    # Bob empties his composer (typing.stop), Carol sends (her message ends it).
    pages["bob"].locator("#composer-body").fill("")
    pages["bob"].locator("#composer-body").press_sequentially(" ")  # an input event with no text
    pages["carol"].locator("#composer-body").press("Enter")
    expect(line).to_have_text("dave is typing…")
    # Dave stops typing but neither sends nor empties his composer: no typing.stop is ever sent,
    # and Alice's page forgets him by itself after its timeout (about 6 s).
    expect(line).to_have_text("", timeout=12_000)
    assert page_errors.errors == []
