"""Browser notifications in Chromium, permission granted in the context: shown while the tab is
hidden, for a DM and for a mention (not for a plain room message at the default level), never
for a muted room, never while the tab is visible. The page's own Notification calls are
recorded by a subclass that still shows the real notification."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from rooms import services

pytestmark = [pytest.mark.browser, pytest.mark.server]

# Records what the page shows, and lets the test hide the tab (headless pages are always visible).
INSTRUMENT = """
(() => {
  const Real = window.Notification;
  window.__shown = [];
  window.__hidden = false;
  Object.defineProperty(document, "visibilityState", {configurable: true, get: () => window.__hidden ? "hidden" : "visible"});
  Object.defineProperty(document, "hidden", {configurable: true, get: () => window.__hidden});
  window.Notification = class extends Real {
    constructor(title, options) {
      super(title, options);
      window.__shown.push({title: title, body: options && options.body});
    }
  };
})();
"""


@pytest.fixture
def people(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    bob = make_user("bob", display_name="Bob Builder")
    general = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=general.id)
    dm, _ = services.dm_open(user=alice, usernames=["bob"])
    return bob, general, dm


def shown(page) -> list[dict]:
    return page.evaluate("() => window.__shown")


def hide(page, hidden: bool) -> None:
    page.evaluate(
        "(h) => { window.__hidden = h; document.dispatchEvent(new Event('visibilitychange')); }", hidden
    )


def test_notifications_for_dms_and_mentions_while_hidden_not_when_muted(
    start_server, open_as, page_errors, people
):
    _, general, dm = people
    server = start_server()
    alice = open_as(server, "alice")
    alice.get_by_role("link", name="General").click()
    expect(alice.get_by_role("button", name="Enable browser notifications")).to_be_visible()  # not asked yet

    alice.context.grant_permissions(["notifications"], origin=server.url)
    alice.context.add_init_script(INSTRUMENT)
    alice.reload()
    expect(alice.locator("#composer-body")).to_be_enabled()
    expect(alice.get_by_role("button", name="Enable browser notifications")).to_be_hidden()

    bob_page = open_as(server, "bob")

    def say(room, body: str) -> None:
        bob_page.goto(f"{server.url}/r/{room.id}/")
        bob_page.locator("#composer-body").fill(body)
        bob_page.locator("#composer-body").press("Enter")
        expect(bob_page.locator("#messages li.message:not(.pending)").filter(has_text=body)).to_have_count(1)

    say(dm, "visible: no notification")
    expect(alice.locator(f"#sidebar-room-{dm.id} [data-unread]")).to_be_visible()
    hide(alice, True)
    say(general, "a plain message: mentions only by default")
    say(dm, "psst")
    alice.wait_for_function("() => window.__shown.length >= 1")
    say(general, "@alice look at this")
    alice.wait_for_function("() => window.__shown.length >= 2")
    assert shown(alice) == [
        {"title": "Bob Builder", "body": "psst"},
        {"title": "Bob Builder in General", "body": "@alice look at this"},
    ]

    hide(alice, False)
    alice.get_by_label("Notify").select_option("muted")
    expect(alice.locator(f"#sidebar-room-{general.id}")).to_have_attribute("data-notify", "muted")
    hide(alice, True)
    say(general, "@alice muted, so quiet")
    say(dm, "still here")
    alice.wait_for_function("() => window.__shown.length >= 3")
    assert shown(alice)[2:] == [{"title": "Bob Builder", "body": "still here"}]
    # Muted counts unread quietly: the badge is there.
    expect(alice.locator(f"#sidebar-room-{general.id} [data-unread]")).to_be_visible()
    alice.reload()  # the level is stored
    expect(alice.get_by_label("Notify")).to_have_value("muted")
    assert page_errors.errors == []
