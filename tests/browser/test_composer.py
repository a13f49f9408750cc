"""The composer and the top bar on a phone-sized screen (375 px), in a real browser."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rooms import services
from tests.browser.conftest import MOBILE, axe_serious, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.server]

VISIBLE_LINES = """(el) => {
  const style = getComputedStyle(el);
  const line = parseFloat(style.lineHeight) || parseFloat(style.fontSize) * 1.2;
  return {scrollTop: el.scrollTop, hidden: el.scrollHeight - el.clientHeight, line: line,
          height: el.getBoundingClientRect().height};
}"""


def boxes_overlap(a: dict, b: dict) -> bool:
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def test_at_375px_a_three_line_draft_shows_every_line_and_the_room_is_named_once(
    start_server, open_as, page_errors, make_user
):
    alice = make_user("alice")
    room = services.room_create(creator=alice, name="Design reviews")
    server = start_server()
    page = open_as(server, "alice", viewport=MOBILE)
    page.goto(f"{server.url}/r/{room.id}/")
    composer = page.locator("#composer-body")
    expect(composer).to_be_enabled()
    one_line = composer.evaluate(VISIBLE_LINES)

    composer.click()
    page.keyboard.type("first line of the draft")
    for text in ("second line", "third line"):
        page.keyboard.press("Shift+Enter")
        page.keyboard.type(text)
    grown = composer.evaluate(VISIBLE_LINES)
    assert grown["hidden"] <= 1 and grown["scrollTop"] == 0  # nothing scrolled out of sight
    assert grown["height"] >= one_line["height"] + 1.5 * grown["line"]  # it grew by the two lines

    # A long draft stops growing at the cap, then scrolls inside.
    for _ in range(30):
        page.keyboard.press("Shift+Enter")
        page.keyboard.type("more")
    capped = composer.evaluate(VISIBLE_LINES)
    assert capped["hidden"] > 0
    assert capped["height"] <= 0.4 * MOBILE["height"] + 1
    page.keyboard.press("Enter")  # sent: back to one line
    expect(page.locator("#messages li.message").filter(has_text="first line of the draft")).to_have_count(1)
    assert abs(composer.evaluate(VISIBLE_LINES)["height"] - one_line["height"]) < 1

    # The room's name once: in its header, with the menu button beside it, not in a bar above.
    named = page.get_by_text("Design reviews", exact=True)
    assert [named.nth(i).is_visible() for i in range(named.count())].count(True) == 1  # the drawer is shut
    heading = page.get_by_role("heading", level=1, name="Design reviews")
    toggle = page.get_by_role("button", name="Rooms and messages")
    expect(heading).to_be_visible()
    expect(toggle).to_be_visible()
    assert not boxes_overlap(heading.bounding_box(), toggle.bounding_box())
    assert heading.bounding_box()["y"] < 40  # the header is the top of the screen
    assert page.evaluate("document.documentElement.scrollWidth") <= MOBILE["width"]
    violations = axe_serious(page)
    assert not violations, describe_violations(violations)
    assert not page_errors.errors
