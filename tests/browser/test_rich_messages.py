"""Rich messages in real browsers: two people edit, delete, react, reply and mention live; a
third page that was offline catches up to the final state."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from messaging.models import Message
from rooms import services
from tests.browser.conftest import off_loop, save_screenshot

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def general(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    bob = make_user("bob", display_name="Bob Builder")
    carol = make_user("carol")
    room = services.room_create(creator=alice, name="General")
    for person in (bob, carol):
        services.room_join(user=person, room_id=room.id)
    return room


def open_room(page, name: str = "General") -> None:
    page.get_by_role("link", name=name).click()
    expect(page.locator("#composer-body")).to_be_enabled()  # the socket said hello


def say(page, text: str) -> None:
    page.locator("#composer-body").fill(text)
    page.locator("#composer-body").press("Enter")


def message(page, text: str):
    """The message whose own text (not a reply's quote of it) has ``text``."""
    return page.locator("#messages li.message").filter(has=page.locator(".message-body", has_text=text))


class Link:
    def __init__(self) -> None:
        self.up = True
        self.sockets: list = []

    def handle(self, ws) -> None:
        if not self.up:
            ws.close()
            return
        ws.connect_to_server()
        self.sockets.append(ws)

    def cut(self) -> None:
        self.up = False
        for ws in self.sockets:
            ws.close()
        self.sockets.clear()

    def restore(self) -> None:
        self.up = True


def test_two_people_edit_react_reply_mention_and_delete_live_and_a_third_catches_up(
    start_server, open_as, page_errors, general
):
    server = start_server()
    alice, bob = open_as(server, "alice"), open_as(server, "bob", color_scheme="dark")
    carol = open_as(server, "carol")
    # Carol's socket goes through a switch the test holds: open, it passes everything on to the
    # real server; cut, her open socket is closed and new ones are refused, as on a lost network.
    link = Link()
    carol.route_web_socket(re.compile(r"/ws/"), link.handle)
    for page in (alice, bob, carol):
        open_room(page)
    link.cut()
    expect(carol.locator("#connection-banner")).to_be_visible()

    # Markdown and a mention, strongly marked for the one mentioned.
    composer = alice.locator("#composer-body")
    composer.fill("Hello **team**, ")
    composer.press_sequentially("@bo")
    expect(alice.get_by_role("option", name=re.compile(r"^@bob"))).to_be_visible()  # autocomplete
    composer.press("Enter")  # picks the member, does not send
    expect(composer).to_have_value("Hello **team**, @bob ")
    composer.press_sequentially("please look at `deploy`")
    # Typing travels the ephemeral lane: shown to the others, never to the typist.
    expect(bob.locator("#typing-indicator")).to_have_text("Alice Liddell is typing…")
    expect(alice.locator("#typing-indicator")).to_have_text("")
    composer.press("Enter")
    mention = message(bob, "Hello team")
    expect(bob.locator("#typing-indicator")).to_have_text("")  # her message ended it
    expect(mention.locator("strong")).to_have_text("team")
    expect(mention.locator(".mention")).to_have_class(re.compile(r"\bme\b"))
    expect(mention).to_have_class(re.compile("mentions-me"))
    expect(message(alice, "Hello team").locator(".mention")).not_to_have_class(re.compile(r"\bme\b"))

    # Bob reacts with a quick reaction; both see it, and it is highlighted as his for him only.
    theirs = message(bob, "Hello team")
    theirs.hover()
    theirs.get_by_role("button", name="React with 👍").click()
    expect(message(alice, "Hello team").locator(".reaction")).to_contain_text("1")
    expect(theirs.locator(".reaction")).to_have_attribute("aria-pressed", "true")
    expect(message(alice, "Hello team").locator(".reaction")).to_have_attribute("aria-pressed", "false")

    # Bob replies; the reply quotes its parent and the parent counts it, on both pages.
    theirs.hover()
    theirs.get_by_role("button", name="Reply").click()
    expect(bob.locator("#reply-banner")).to_be_visible()
    say(bob, "On it")
    reply = message(alice, "On it")
    expect(reply.locator(".reply-quote")).to_contain_text("Hello team, @bob")  # plain text
    expect(message(alice, "Hello team").locator(".reply-count")).to_have_text("1 reply")
    # The thread opens in the side panel.
    message(alice, "Hello team").locator(".reply-count").click()
    expect(alice.locator("#side-panel")).to_be_visible()
    expect(alice.locator("#side-panel li.message")).to_have_count(2)
    alice.keyboard.press("Escape")
    expect(alice.locator("#side-panel")).to_be_hidden()

    # Alice edits her message in place; Bob sees the new text and "(edited)".
    mine = alice.locator(f"#{message(alice, 'Hello team').get_attribute('id')}")
    mine.hover()
    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Edit message").fill("Hello **everyone**, @bob please look at `deploy`")
    mine.get_by_role("button", name="Save").click()
    expect(message(bob, "Hello everyone").locator(".edited")).to_be_visible()
    expect(message(bob, "Hello team")).to_have_count(0)
    expect(message(bob, "On it").locator(".reply-quote")).to_contain_text("Hello everyone")  # live too

    # Bob deletes his reply; both see the tombstone, and the quote... is the parent's, unchanged.
    say(bob, "a message to delete")
    doomed = message(bob, "a message to delete")
    expect(doomed).to_have_attribute("id", re.compile(r"^msg-\d+$"))
    gone_id = doomed.get_attribute("id")  # before the delete: then it no longer holds the text
    doomed.hover()
    bob.once("dialog", lambda dialog: dialog.accept())
    doomed.get_by_role("button", name="Delete").click()
    expect(alice.locator("#messages li.message.deleted")).to_have_count(1)
    expect(alice.locator("#messages")).not_to_contain_text("a message to delete")
    save_screenshot(alice, "rich-messages.png")

    # Carol comes back: her page catches up (since=) to the final state, each message once.
    link.restore()
    expect(message(carol, "Hello everyone")).to_have_count(1, timeout=20_000)
    expect(message(carol, "Hello everyone").locator(".reaction")).to_contain_text("1")
    expect(message(carol, "Hello everyone").locator(".reply-count")).to_have_text("1 reply")
    expect(message(carol, "On it")).to_have_count(1)
    expect(carol.locator("#messages li.message.deleted")).to_have_count(1)
    expect(carol.locator("#messages")).not_to_contain_text("a message to delete")
    expect(message(carol, "Hello team")).to_have_count(0)
    assert carol.locator(f"#{gone_id}").count() == 1
    stored = off_loop(
        lambda: list(Message.objects.filter(deleted_at__isnull=False).values_list("body", flat=True))
    )
    assert stored == [""]
    assert page_errors.errors == []
