"""Every page a person can reach, checked by axe-core (from npm) in light and dark; and the room
page driven with the keyboard alone.

One server, one data set and one browser serve the whole module (a server and a browser per
check would take minutes): the data is written through the services before the browser starts
and flushed when the module ends, as ``transactional_db`` does after each test elsewhere. Each
check opens a fresh page in the logged-in (or anonymous) browser context of its colour scheme.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib.auth.tokens import default_token_generator
from django.core.cache import cache
from django.core.management import call_command
from django.db import connections
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from playwright.sync_api import expect

from accounts.models import User
from conftest import PASSWORD, ServerProcess, launch_server
from messaging import changes
from messaging.services import message_send
from rooms import services
from tests.browser.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    MOBILE,
    axe_serious,
    describe_violations,
    log_in,
    require_axe,
    require_chromium,
    search_to_invite,
)

pytestmark = [pytest.mark.browser, pytest.mark.server]

SCHEMES = ["light", "dark"]
MARKDOWN = (
    "**Release plan**: ship on _Friday_, see https://example.com/notes\n\n"
    "- check the `migrations`\n- update the docs\n\n"
    "> Measure twice, cut once.\n\n"
    "```\nmake test\n```"
)


@dataclass
class Site:
    server: ServerProcess
    general: int
    dm: int
    keyboard: int
    quiet: int  # alice's, with no messages: the start-of-room intro
    own_message: int  # alice's, in General: Edit applies
    threaded: int  # bob's, in General, with one reply and reactions
    edited: int
    keyboard_message: int  # bob's, in Keyboard, with one reply
    reset_path: str  # a valid password-reset link of erin, who never logs in (it would void it)


def _make_site_data(make_user: Callable[..., User]) -> dict[str, int]:
    alice = make_user("alice", display_name="Alice Liddell")
    bob = make_user("bob", display_name="Bob Builder")
    carol = make_user("carol")
    make_user("dave", display_name="Dave Grohl")
    general = services.room_create(creator=alice, name="General", description="Company-wide chatter")
    for person in (bob, carol):
        services.room_join(user=person, room_id=general.id)
    services.room_create(creator=bob, name="Random", description="Off-topic")  # alice may join
    services.room_create(creator=alice, name="Leads", kind="private")

    def say(sender: Any, body: str, room: Any = general, **extra: Any) -> int:
        return message_send(sender=sender, room_id=room.id, body=body, **extra).message.id

    threaded = say(bob, "Morning all! The release notes are up.")
    for person, emoji in ((alice, "👍"), (carol, "👍"), (bob, "🎉")):
        changes.reaction_toggle(user=person, message_id=threaded, emoji=emoji)
    say(alice, MARKDOWN)
    say(carol, "@alice can you review? cc @bob and @room")
    say(bob, "Replying in the thread.", reply_to=threaded)
    edited = say(alice, "Typo in this mesage")
    changes.message_edit(actor=alice, message_id=edited, body="Fixed the typo in this message")
    gone = say(bob, "This one will be deleted")
    changes.message_delete(actor=bob, message_id=gone, via="api")
    own = say(alice, "My own message, to edit")

    dm, _ = services.dm_open(user=alice, usernames=["bob"])
    say(bob, "psst, Alice", room=dm)
    say(alice, "hi Bob", room=dm)

    keyboard = services.room_create(creator=bob, name="Keyboard")
    for person in (alice, carol):
        services.room_join(user=person, room_id=keyboard.id)
    quiet = services.room_create(creator=alice, name="Quiet", description="Nothing said yet")
    keyboard_message = say(bob, "Anyone up for a keyboard-only test?", room=keyboard)
    say(carol, "Count me in.", room=keyboard, reply_to=keyboard_message)
    return {
        "general": general.id,
        "dm": dm.id,
        "keyboard": keyboard.id,
        "quiet": quiet.id,
        "own_message": own,
        "threaded": threaded,
        "edited": edited,
        "keyboard_message": keyboard_message,
    }


@pytest.fixture(autouse=True)
def _clean_cache_and_layer() -> Iterator[None]:
    """Overrides the root fixture of that name, which runs async_to_sync: the module's browser
    keeps Playwright's event loop running in this thread between checks, where that is refused.
    The ``site`` fixture clears the cache once, before the data is written."""
    yield


@pytest.fixture(scope="module")
def transactional_db(django_db_setup, django_db_blocker) -> Iterator[None]:
    """This module's own ``transactional_db``, wider than pytest-django's (per test), which it
    overrides here: the checks share one data set and one server, and the database is flushed
    after the module's last test, as pytest-django's flushes after each. By its name it also has
    pytest-django create the test database when only this module runs."""
    yield
    with django_db_blocker.unblock():
        call_command("flush", interactive=False, verbosity=0)
        cache.clear()
    connections.close_all()


@pytest.fixture(scope="module")
def site(transactional_db, django_db_blocker) -> Iterator[Site]:
    def make_user(username: str, **extra: Any) -> User:
        return User.objects.create_user(username=username, password=PASSWORD, **extra)

    with django_db_blocker.unblock():
        cache.clear()
        ids = _make_site_data(make_user)
        erin = make_user("erin", email="erin@example.com")
        reset_path = reverse(
            "password-reset-confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(erin.pk)),
                "token": default_token_generator.make_token(erin),
            },
        )
        cache.clear()  # the seeding drew on send budgets the server (sharing the cache) enforces
    connections.close_all()
    server = launch_server()
    try:
        yield Site(server=server, reset_path=reset_path, **ids)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def contexts(site) -> Iterator[Callable[[str, str | None], Any]]:
    """``contexts(scheme, username_or_None)``: one browser context per (scheme, person), logged
    in once (both schemes share the cookies), kept for the module. Started after ``site`` wrote
    its data (see conftest.py: no ORM calls while Playwright's loop runs)."""
    require_chromium()
    require_axe()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    made: dict[tuple[str, str | None], Any] = {}
    sessions: dict[str, Any] = {}  # username -> cookies of a log-in, shared by both schemes

    def get(scheme: str, username: str | None) -> Any:
        if (scheme, username) not in made:
            context = browser.new_context(
                viewport=DESKTOP,
                color_scheme=scheme,
                locale="en-GB",
                reduced_motion="reduce",
                storage_state=sessions.get(username or ""),
            )
            context.set_default_timeout(10_000)
            if username and username not in sessions:
                page = context.new_page()
                log_in(page, site.server, username)
                page.close()
                sessions[username] = context.storage_state()
            made[(scheme, username)] = context
        return made[(scheme, username)]

    try:
        yield get
    finally:
        for context in made.values():
            context.close()
        browser.close()
        playwright.stop()


@pytest.fixture
def new_page(contexts, page_errors) -> Iterator[Callable[..., Any]]:
    """``new_page(scheme, username="alice")``: a fresh page, closed after the test."""
    pages: list[Any] = []

    def make(scheme: str, username: str | None = "alice") -> Any:
        page = contexts(scheme, username).new_page()
        page_errors.watch(page)
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.close()


# --- what each check opens -------------------------------------------------------------------


def _room(page: Any, site: Site, room_id: int) -> None:
    page.goto(f"{site.server.url}/r/{room_id}/")
    expect(page.locator("#composer-body")).to_be_enabled()  # the socket said hello


def message(page: Any, message_id: int) -> Any:
    return page.locator(f"#msg-{message_id}")


def open_login(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/login/")


def open_login_failed(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/login/")
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Log in").click()
    expect(page.locator(".form-error").first).to_be_visible()


def open_register(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/register/")


def open_register_errors(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/register/")
    page.get_by_role("button", name="Sign up").click()
    expect(page.locator(".form-error").first).to_be_visible()


def open_home(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/")


def open_room(page: Any, site: Site, scheme: str) -> None:
    """Messages of every kind; one shows its actions on hover, another to the keyboard."""
    _room(page, site, site.general)
    message(page, site.threaded).hover()
    message(page, site.own_message).get_by_role("button", name="Reply").focus()


def _news_for_carol(page: Any, site: Site) -> None:
    """Bob mentions Carol in General, through the REST API (each scheme's check opens the room,
    which reads it): she has an unread message and an unread mention again."""
    url = site.server.url
    token = page.request.post(f"{url}/api/auth/token/", data={"username": "bob", "password": PASSWORD})
    sent = page.request.post(
        f"{url}/api/rooms/{site.general}/messages/",
        data={"body": "@carol news for you"},
        headers={"Authorization": f"Bearer {token.json()['access']}"},
    )
    assert sent.status == 201, sent.text()


def open_home_unread(page: Any, site: Site, scheme: str) -> None:
    """The sidebar's unread and mention badges."""
    _news_for_carol(page, site)
    page.goto(f"{site.server.url}/")
    expect(page.locator(f"#sidebar-room-{site.general} [data-mentions]")).to_be_visible()
    expect(page.locator(f"#sidebar-room-{site.general} [data-unread]")).to_be_visible()


def open_room_unread(page: Any, site: Site, scheme: str) -> None:
    """A room opened with unread messages: the "new messages" divider and "jump to first unread"."""
    _news_for_carol(page, site)
    _room(page, site, site.general)
    expect(page.locator("#messages .unread-divider")).to_be_visible()
    expect(page.locator("#jump-unread")).to_be_visible()


def open_room_members(page: Any, site: Site, scheme: str) -> None:
    _room(page, site, site.general)
    page.get_by_role("button", name=re.compile("Members")).click()
    expect(page.get_by_role("heading", name="Members", level=2)).to_be_focused()
    search_to_invite(page, "da", "dave")


def open_room_thread(page: Any, site: Site, scheme: str) -> None:
    _room(page, site, site.general)
    message(page, site.threaded).get_by_role("button", name="1 reply").click()
    expect(page.get_by_role("heading", name="Thread", level=2)).to_be_focused()
    expect(page.locator("#side-panel li.message")).to_have_count(2)


def open_room_edit_history(page: Any, site: Site, scheme: str) -> None:
    _room(page, site, site.general)
    message(page, site.edited).get_by_role("button", name=re.compile("^Edited")).click()
    expect(page.get_by_role("heading", name="Edit history", level=2)).to_be_focused()


def open_room_edit_form(page: Any, site: Site, scheme: str) -> None:
    _room(page, site, site.general)
    message(page, site.own_message).get_by_role("button", name="Edit", exact=True).click()
    expect(page.get_by_label("Edit message")).to_be_visible()


def open_room_emoji_picker(page: Any, site: Site, scheme: str) -> None:
    _room(page, site, site.general)
    message(page, site.threaded).get_by_role("button", name="React", exact=True).click()
    expect(page.get_by_role("dialog", name="Choose an emoji")).to_be_visible()
    expect(page.locator(".emoji-picker-grid button").first).to_be_visible()


def open_room_mobile_drawer(page: Any, site: Site, scheme: str) -> None:
    page.set_viewport_size(MOBILE)
    _room(page, site, site.general)
    page.get_by_role("button", name="Rooms and messages").click()
    expect(page.locator("#sidebar")).to_be_visible()


def open_room_theme_toggle(page: Any, site: Site, scheme: str) -> None:
    """The in-app theme overriding the system's: Dark on a light system, Light on a dark one."""
    _room(page, site, site.general)
    chosen = "dark" if scheme == "light" else "light"
    with page.expect_response(f"{site.server.url}/account/theme/"):
        page.get_by_label("Theme").select_option(chosen)
    expect(page.locator("html")).to_have_attribute("data-theme", chosen)


def open_new_room(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/rooms/new/")


def open_browse(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/rooms/browse/")
    expect(page.get_by_role("button", name="Join Random")).to_be_visible()


def open_new_dm(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/dm/new/")
    search, bob = page.get_by_label("Username"), page.get_by_label("bob")
    for _ in range(3):
        search.fill("")
        search.press_sequentially("b", delay=40)
        try:
            expect(bob).to_be_visible(timeout=3000)
            break
        except AssertionError:
            continue
    bob.check()


def open_dm(page: Any, site: Site, scheme: str) -> None:
    _room(page, site, site.dm)


def open_search_panel(page: Any, site: Site, scheme: str) -> None:
    """Results as you type, under the search box: a person, messages with highlighted words."""
    _room(page, site, site.general)
    page.locator("#search-q").fill("bob")
    expect(page.locator("#search-panel .search-hit").first).to_be_visible()
    expect(page.get_by_role("button", name="Message bob")).to_be_visible()


def open_search_page(page: Any, site: Site, scheme: str) -> None:
    """The results as a page: a room to open, messages, the order toggle set to relevance."""
    page.goto(f"{site.server.url}/search/?q=keyboard&order=relevant")
    expect(page.locator("main .search-hit").first).to_be_visible()


def open_search_result(page: Any, site: Site, scheme: str) -> None:
    """A room opened at a search result: the message highlighted."""
    page.goto(f"{site.server.url}/r/{site.general}/?around={site.edited}#msg-{site.edited}")
    expect(message(page, site.edited)).to_have_class(re.compile(r"\bhighlight\b"))


def open_not_found(page: Any, site: Site, scheme: str) -> None:
    # The site's own 404 page, which the server (DEBUG on) answers too: not Django's debug page.
    page.goto(f"{site.server.url}/r/999999/")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()


def _submit_refused(page: Any, url: str, fills: dict[str, str], button: str) -> None:
    """Open a form, fill it with what it refuses, submit, and wait for its errors."""
    page.goto(url)
    for label, value in fills.items():
        page.get_by_label(label, exact=True).fill(value)
    page.get_by_role("button", name=button).click()
    expect(page.locator(".form-error").first).to_be_visible()


def open_room_preview(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/r/{site.general}/")  # dave is not in General
    expect(page.get_by_role("button", name="Join General")).to_be_visible()


def open_empty_room(page: Any, site: Site, scheme: str) -> None:
    _room(page, site, site.quiet)
    expect(page.locator("#room-intro")).to_contain_text("No messages yet")


def open_room_settings(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/rooms/{site.quiet}/settings/")


def open_room_settings_errors(page: Any, site: Site, scheme: str) -> None:
    _submit_refused(page, f"{site.server.url}/rooms/{site.quiet}/settings/", {"Name": "\u200b"}, "Save")


def open_profile(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/account/")


def open_profile_errors(page: Any, site: Site, scheme: str) -> None:
    _submit_refused(page, f"{site.server.url}/account/", {"Display name": "\u200b\u200b"}, "Save")


def open_password_change(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/account/password/")


def open_password_change_errors(page: Any, site: Site, scheme: str) -> None:
    fills = {"Current password": "not the password", "New password": "short"}
    _submit_refused(page, f"{site.server.url}/account/password/", fills, "Change password")


def open_password_reset(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/password-reset/")


def open_password_reset_sent(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/password-reset/")
    page.get_by_label("Email").fill("nobody@example.com")
    page.get_by_role("button", name="Send the link").click()
    expect(page.get_by_role("status")).to_contain_text("If an account has that email address")


def open_password_reset_confirm(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}{site.reset_path}")
    expect(page.get_by_label("New password confirmation")).to_be_visible()


def open_password_reset_invalid(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/password-reset/MQ/not-a-token/")
    expect(page.get_by_role("alert")).to_contain_text("expired")


def open_account_delete(page: Any, site: Site, scheme: str) -> None:
    page.goto(f"{site.server.url}/account/delete/")


def open_account_delete_errors(page: Any, site: Site, scheme: str) -> None:
    _submit_refused(
        page, f"{site.server.url}/account/delete/", {"Your password": "not the password"}, "Delete my account"
    )


def _api_operation(page: Any, site: Site) -> Any:
    """Swagger UI (light only: it has no dark theme), with one operation expanded."""
    page.goto(f"{site.server.url}/api/docs/")
    operation = page.locator("#operations-rooms-rooms_messages_create")
    operation.locator(".opblock-summary-control").click()
    expect(operation.locator(".responses-table").first).to_be_visible()
    return operation


def open_api_docs(page: Any, site: Site, scheme: str) -> None:
    """An operation expanded and tried: its form filled in, executed (the example body is
    refused: 400), the answer shown."""
    operation = _api_operation(page, site)
    operation.get_by_role("button", name="Try it out").click()
    operation.locator('input[placeholder="room_id"]').fill(str(site.general))
    operation.get_by_role("button", name="Execute").click()
    expect(operation.locator(".live-responses-table")).to_be_visible()


def open_api_docs_authorize(page: Any, site: Site, scheme: str) -> None:
    _api_operation(page, site)
    page.locator(".auth-wrapper .btn.authorize").click()
    expect(page.locator(".dialog-ux .modal-ux")).to_be_visible()


PAGES: dict[str, tuple[Callable[[Any, Site, str], None], str | None]] = {
    # name: (how to open it, who is logged in)
    "login": (open_login, None),
    "login-failed": (open_login_failed, None),
    "register": (open_register, None),
    "register-errors": (open_register_errors, None),
    "home": (open_home, "alice"),
    "room": (open_room, "alice"),
    "home-unread": (open_home_unread, "carol"),
    "room-unread": (open_room_unread, "carol"),
    "room-members": (open_room_members, "alice"),
    "room-thread": (open_room_thread, "alice"),
    "room-edit-history": (open_room_edit_history, "alice"),
    "room-edit-form": (open_room_edit_form, "alice"),
    "room-emoji-picker": (open_room_emoji_picker, "alice"),
    "room-mobile-drawer": (open_room_mobile_drawer, "alice"),
    "room-theme-toggle": (open_room_theme_toggle, "bob"),  # bob's choice, so alice's stays "system"
    "new-room": (open_new_room, "alice"),
    "browse-rooms": (open_browse, "alice"),
    "new-dm": (open_new_dm, "alice"),
    "dm": (open_dm, "alice"),
    "search-panel": (open_search_panel, "alice"),
    "search-page": (open_search_page, "alice"),
    "search-result": (open_search_result, "alice"),
    "not-found": (open_not_found, "alice"),
    "api-docs": (open_api_docs, "alice"),
    "api-docs-authorize": (open_api_docs_authorize, "alice"),
    "room-preview": (open_room_preview, "dave"),
    "empty-room": (open_empty_room, "alice"),
    "room-settings": (open_room_settings, "alice"),
    "room-settings-errors": (open_room_settings_errors, "alice"),
    "profile": (open_profile, "alice"),
    "profile-errors": (open_profile_errors, "alice"),
    "password-change": (open_password_change, "alice"),
    "password-change-errors": (open_password_change_errors, "alice"),
    "password-reset": (open_password_reset, None),
    "password-reset-sent": (open_password_reset_sent, None),
    "password-reset-confirm": (open_password_reset_confirm, None),
    "password-reset-invalid": (open_password_reset_invalid, None),
    "account-delete": (open_account_delete, "alice"),
    "account-delete-errors": (open_account_delete_errors, "alice"),
}


# The console's report of an error status the page was meant to get.
EXPECTED_ERRORS = {
    "login-failed": "status of 400",
    "register-errors": "status of 400",
    "profile-errors": "status of 400",
    "room-settings-errors": "status of 400",
    "password-change-errors": "status of 400",
    "account-delete-errors": "status of 400",
    "not-found": "status of 404",
    "api-docs": "status of 400",
}


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("name", list(PAGES))
def test_axe_finds_no_serious_violations(site, new_page, page_errors, name, scheme):
    open_page, username = PAGES[name]
    page = new_page(scheme, username)
    open_page(page, site, scheme)
    assert username is None or "/login/" not in page.url, "not logged in"
    violations = axe_serious(page)
    assert not violations, f"{name} ({scheme}): axe found\n{describe_violations(violations)}"
    expected = EXPECTED_ERRORS.get(name)
    assert [e for e in page_errors.errors if not (expected and expected in e)] == []


# --- the keyboard alone ------------------------------------------------------------------------


def focused(page: Any) -> str:
    """The focused element, briefly: its tag, id, accessible name and message id."""
    return page.evaluate(
        """() => { const el = document.activeElement, li = el && el.closest('li.message');
          return [el.tagName, el.id, el.getAttribute('aria-label') || el.textContent.trim().slice(0, 40),
                  li ? li.id : ''].join(' | '); }"""
    )


def tab_until(page: Any, selector: str, key: str = "Tab", limit: int = 80) -> None:
    """Press Tab (or ``key``) until the focused element matches ``selector``."""
    path = []
    for _ in range(limit):
        page.keyboard.press(key)
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
        path.append(focused(page))
    raise AssertionError(f"{key} never reached {selector}; went through:\n" + "\n".join(path))


def test_the_room_with_the_keyboard_alone(site, new_page, page_errors):
    page = new_page("light", "alice")
    _room(page, site, site.keyboard)
    target = f"#msg-{site.keyboard_message}"

    # Skip to the content, then Tab into the conversation and to the message's actions.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to content")).to_be_focused()
    page.keyboard.press("Enter")
    thumbs_up = f'{target} .message-actions button[aria-label="React with 👍"]'
    tab_until(page, thumbs_up)
    expect(page.locator(f"{target} .message-actions")).to_have_css("opacity", "1")  # shown on focus

    # A quick reaction: the message is re-rendered with it, and focus stays where it was.
    page.keyboard.press("Enter")
    reaction = page.locator(f"{target} .reactions .reaction")
    expect(reaction).to_have_count(1)
    expect(reaction).to_have_attribute("aria-pressed", "true")
    expect(page.locator(thumbs_up)).to_be_focused()

    # The thread opens from the keyboard, focus moves into it; Escape closes it and returns focus.
    tab_until(page, f"{target} .reply-count", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", name="Thread", level=2)).to_be_focused()
    expect(page.locator("#side-panel li.message")).to_have_count(2)
    page.keyboard.press("Escape")
    expect(page.locator("#side-panel")).to_be_hidden()
    expect(page.locator(f"{target} .reply-count")).to_be_focused()

    # On to the composer; Enter sends.
    tab_until(page, "#composer-body")
    page.keyboard.type("sent with the keyboard alone")
    page.keyboard.press("Enter")
    sent = page.locator("#messages li.message").filter(has_text="sent with the keyboard alone")
    expect(sent).to_have_count(1)
    expect(sent).to_have_attribute("id", re.compile(r"^msg-\d+$"))
    expect(page.locator("#composer-body")).to_be_focused()

    # Back to it to edit: the text gets focus; Cancel returns focus to Edit.
    tab_until(page, "#messages li.message:last-child .message-actions [data-focus-key=edit]", key="Shift+Tab")
    page.keyboard.press("Enter")
    expect(sent.get_by_label("Edit message")).to_be_focused()
    tab_until(page, "#messages li.message:last-child .edit-form button[type=button]")
    page.keyboard.press("Enter")
    expect(sent.locator(".message-actions [data-focus-key=edit]")).to_be_focused()
    assert not page_errors.errors
