"""The emoji picker widget (static/js/emoji-picker.js) in a real browser.

No app page carries the picker yet, so a test page (emoji_picker_page.html) is served on a made-up
origin by Playwright's request routing: the page, the real static files and the real emoji.json,
under the site's own Content-Security-Policy, so an inline handler or script would fail here too.
"""

from __future__ import annotations

import json
import mimetypes
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.test import RequestFactory
from playwright.sync_api import expect

from chatsite.middleware import content_security_policy
from conftest import ROOT
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    axe_serious,
    describe_violations,
    require_chromium,
)

pytestmark = pytest.mark.browser

ORIGIN = "http://parley.test"
PAGE = Path(__file__).with_name("emoji_picker_page.html")
STATIC = ROOT / "static"
DATA = json.loads((STATIC / "vendor" / "emoji" / "emoji.json").read_text(encoding="utf-8"))
CSP = content_security_policy(RequestFactory().get("/", HTTP_HOST="localhost"))
# Records every parley:emoji event that reaches the document (so it bubbled).
RECORD_EVENTS = """() => {
  window.picked = [];
  document.addEventListener("parley:emoji", (event) => window.picked.push({
    emoji: event.detail.emoji, target: event.detail.target, on: event.target.id,
  }));
}"""


class Site:
    """The test page and /static/ on ORIGIN, counting requests for the emoji data."""

    def __init__(self) -> None:
        self.data_requests = 0
        self.data_status = 200

    def handle(self, route: Any) -> None:
        path = route.request.url.removeprefix(ORIGIN).split("?")[0]
        file = PAGE if path == "/" else (STATIC / path.removeprefix("/static/")).resolve()
        if file is not PAGE and not (
            path.startswith("/static/") and file.is_relative_to(STATIC) and file.is_file()
        ):
            route.fulfill(status=404, body="not found")
            return
        if path == "/static/vendor/emoji/emoji.json":
            self.data_requests += 1
            if self.data_status != 200:
                route.fulfill(status=self.data_status, body="unavailable")
                return
        kind = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
        headers = {"Content-Type": f"{kind}; charset=utf-8", "Content-Security-Policy": CSP}
        route.fulfill(status=200, body=file.read_bytes(), headers=headers)


@pytest.fixture
def browser() -> Iterator[Any]:
    require_chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, page_errors):
    """``open_page(color_scheme="light")`` -> (page, site): the test page, events recorded."""

    def open_(color_scheme: str = "light") -> tuple[Any, Site]:
        context = browser.new_context(
            viewport=DESKTOP, color_scheme=color_scheme, locale="en-GB", reduced_motion="reduce"
        )
        context.set_default_timeout(10_000)
        site = Site()
        context.route(f"{ORIGIN}/**", site.handle)
        page = context.new_page()
        page_errors.watch(page)
        page.goto(f"{ORIGIN}/")
        page.evaluate(RECORD_EVENTS)
        return page, site

    return open_


def open_with_keyboard(page: Any) -> None:
    opener = page.get_by_role("button", name="Add emoji")
    opener.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_role("dialog", name="Choose an emoji")).to_be_visible()
    expect(page.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    expect(page.get_by_role("tab", name="Smileys & Emotion")).to_have_attribute("aria-selected", "true")


def grid_item(page: Any, name: str) -> Any:
    return page.locator(".emoji-picker-grid").get_by_role("button", name=name, exact=True)


def test_search_and_pick_with_the_keyboard_fires_the_event_and_returns_focus(open_page, page_errors):
    page, site = open_page()
    opener = page.get_by_role("button", name="Add emoji")
    assert site.data_requests == 0  # nothing is fetched until the picker is first opened

    open_with_keyboard(page)
    expect(opener).to_have_attribute("aria-expanded", "true")
    page.keyboard.type("thumbs")
    results = page.locator(".emoji-picker-grid button")
    expect(results.first).to_have_accessible_name("thumbs up")
    expect(results.first).to_have_text("👍")
    expect(grid_item(page, "thumbs down")).to_be_visible()
    expect(page.get_by_role("status")).to_have_text("2 emoji found")

    page.keyboard.press("ArrowDown")
    expect(grid_item(page, "thumbs up")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(grid_item(page, "thumbs down")).to_be_focused()
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")

    assert page.evaluate("window.picked") == [{"emoji": "👍", "target": "composer-body", "on": "add-emoji"}]
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-expanded", "false")

    # Again: the data is not fetched twice; Escape closes without picking and focus returns.
    page.keyboard.press("Enter")
    expect(page.get_by_role("searchbox", name="Search emoji")).to_be_focused()
    expect(page.get_by_role("searchbox", name="Search emoji")).to_have_value("")
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(opener).to_be_focused()
    assert len(page.evaluate("window.picked")) == 1
    assert site.data_requests == 1
    assert not page_errors.errors


def test_arrow_keys_move_through_the_grid_and_the_category_tabs(open_page, page_errors):
    page, _ = open_page()
    smileys, people = (category["emoji"] for category in DATA["categories"][:2])
    open_with_keyboard(page)

    page.keyboard.press("ArrowDown")
    expect(grid_item(page, smileys[0]["n"])).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(grid_item(page, smileys[1]["n"])).to_be_focused()
    page.keyboard.press("ArrowDown")  # eight to a row
    expect(grid_item(page, smileys[9]["n"])).to_be_focused()
    page.keyboard.press("End")
    expect(grid_item(page, smileys[-1]["n"])).to_be_focused()
    page.keyboard.press("Home")
    page.keyboard.press("ArrowUp")  # from the top row back to the search
    expect(page.get_by_role("searchbox", name="Search emoji")).to_be_focused()

    page.keyboard.press("Tab")
    expect(page.get_by_role("tab", name="Smileys & Emotion")).to_be_focused()
    page.keyboard.press("ArrowRight")
    people_tab = page.get_by_role("tab", name="People & Body")
    expect(people_tab).to_be_focused()
    expect(people_tab).to_have_attribute("aria-selected", "true")
    expect(page.get_by_role("tabpanel", name="People & Body")).to_be_visible()
    page.keyboard.press("Tab")
    expect(grid_item(page, people[0]["n"])).to_be_focused()
    page.keyboard.press("Tab")  # Tab stays inside the popover
    expect(page.get_by_role("searchbox", name="Search emoji")).to_be_focused()

    page.keyboard.press("Shift+Tab")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("Enter")
    assert page.evaluate("window.picked") == [
        {"emoji": people[1]["e"], "target": "composer-body", "on": "add-emoji"}
    ]
    assert not page_errors.errors


def test_searching_by_keyword_finding_nothing_and_enter_in_the_search(open_page, page_errors):
    page, _ = open_page()
    open_with_keyboard(page)
    page.keyboard.type("tada")  # an alias, not a word of "party popper"
    expect(page.locator(".emoji-picker-grid button").first).to_have_text("🎉")
    page.get_by_role("searchbox", name="Search emoji").fill("zzzz")
    expect(page.get_by_text("No emoji found.")).to_be_visible()
    expect(page.locator(".emoji-picker-grid button")).to_have_count(0)
    page.get_by_role("searchbox", name="Search emoji").fill("")
    expect(page.get_by_role("tab", name="Smileys & Emotion")).to_have_attribute("aria-selected", "true")
    page.keyboard.press("Enter")  # no query: Enter in the search picks nothing
    expect(page.get_by_role("dialog")).to_be_visible()
    page.keyboard.type("party popper")
    page.keyboard.press("Enter")  # picks the first match
    assert page.evaluate("window.picked") == [{"emoji": "🎉", "target": "composer-body", "on": "add-emoji"}]
    assert not page_errors.errors


def test_the_mouse_picks_and_a_click_outside_closes(open_page, page_errors):
    page, _ = open_page()
    opener = page.get_by_role("button", name="Add emoji")
    opener.click()
    page.get_by_role("tab", name="Food & Drink").click()
    food = DATA["categories"][3]
    assert food["name"] == "Food & Drink"
    grid_item(page, food["emoji"][0]["n"]).click()
    assert page.evaluate("window.picked") == [
        {"emoji": food["emoji"][0]["e"], "target": "composer-body", "on": "add-emoji"}
    ]
    opener.click()
    expect(page.get_by_role("dialog")).to_be_visible()
    page.get_by_role("button", name="Something else").click()
    expect(page.get_by_role("dialog")).to_be_hidden()
    expect(opener).to_have_attribute("aria-expanded", "false")
    opener.click()
    opener.click()  # the opener toggles
    expect(page.get_by_role("dialog")).to_be_hidden()
    assert not page_errors.errors


def test_data_that_fails_to_load_is_said_and_fetched_again_on_the_next_open(open_page, page_errors):
    page, site = open_page()
    site.data_status = 503
    opener = page.get_by_role("button", name="Add emoji")
    opener.click()
    expect(page.get_by_text("Emoji could not be loaded. Close and try again.")).to_be_visible()
    page.keyboard.press("Escape")
    expect(opener).to_be_focused()
    site.data_status = 200
    open_with_keyboard(page)
    expect(page.get_by_text("Emoji could not be loaded. Close and try again.")).to_be_hidden()
    assert site.data_requests == 2
    assert [error for error in page_errors.errors if "503" not in error] == []


@pytest.mark.parametrize("color_scheme", ["light", "dark"])
def test_axe_finds_no_serious_problems_in_either_theme(open_page, page_errors, color_scheme):
    page, _ = open_page(color_scheme)
    open_with_keyboard(page)
    # A category with a focused emoji, search results, and the (text) "nothing found" state.
    for query in ("", "face", "zzzz"):
        page.get_by_role("searchbox", name="Search emoji").fill(query)
        if query != "zzzz":
            grid_item(page, "grinning face").focus()
        violations = axe_serious(page)
        assert not violations, f"search {query!r}: axe found\n{describe_violations(violations)}"
    assert not page_errors.errors
