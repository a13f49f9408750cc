"""Search in a real browser: "/" focuses the box, results come as you type, and a result deep in
history opens its room at that message, highlighted, with history loading both ways from there."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.services import message_send
from rooms import services

pytestmark = [pytest.mark.browser, pytest.mark.server]
DEPTH = 500


@pytest.fixture
def deep_history(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    room = services.room_create(creator=alice, name="General")
    for i in range(100):
        message_send(sender=alice, room_id=room.id, body=f"older chatter {i}")
    needle = message_send(sender=alice, room_id=room.id, body="the quarterly zeppelin report").message.id
    for i in range(DEPTH):
        message_send(sender=alice, room_id=room.id, body=f"newer chatter {i}")
    return room, needle


def test_a_result_deep_in_history_opens_the_room_at_it(start_server, open_as, page_errors, deep_history):
    room, needle = deep_history
    server = start_server()
    page = open_as(server, "alice")
    page.keyboard.press("/")
    expect(page.locator("#search-q")).to_be_focused()
    page.keyboard.type("zeppel", delay=30)  # a prefix, as while typing
    hit = page.locator(f'#search-panel a.search-hit[data-message-id="{needle}"]')
    expect(hit).to_be_visible()
    expect(hit.locator("mark")).to_have_text("zeppelin")
    expect(hit).to_contain_text("General")
    hit.click()

    page.wait_for_url(re.compile(rf"/r/{room.id}/\?around={needle}"))
    target = page.locator(f"#msg-{needle}")
    expect(target).to_have_class(re.compile(r"\bhighlight\b"))
    expect(target).to_be_in_viewport()
    messages = page.locator("#messages li.message")
    before = messages.count()
    assert before < 100  # a page around the message, not the whole history

    # Scrolling up loads older messages, scrolling down newer ones, from there.
    page.locator("#messages li.message").first.scroll_into_view_if_needed()
    expect(page.locator("#messages li.message", has_text="older chatter 40")).to_have_count(1)
    page.locator("#messages li.message").last.scroll_into_view_if_needed()
    expect(page.locator("#messages li.message", has_text="newer chatter 60")).to_have_count(1)
    assert messages.count() > before
    assert page_errors.errors == []


def test_ctrl_k_focuses_the_box_and_escape_closes_the_results(start_server, open_as, deep_history):
    server = start_server()
    page = open_as(server, "alice")
    page.keyboard.press("Control+k")
    expect(page.locator("#search-q")).to_be_focused()
    page.keyboard.type("quarterly ")
    expect(page.locator("#search-panel")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#search-panel")).to_be_hidden()
    expect(page.locator("#search-q")).to_have_value("quarterly ")
    page.keyboard.press("Enter")  # the results as a page
    page.wait_for_url(re.compile(r"/search/\?"))
    expect(page.locator("main .search-hit")).to_have_count(1)
