"""Headless Chromium (Debian's /usr/bin/chromium, never a downloaded build) against a real server.

The Playwright sync API runs its own asyncio loop in the test's thread while it is started, and
Django refuses ORM calls (and asgiref's async_to_sync) under a running loop. So the browser is
started lazily, by the first ``open_as`` call in the test body after the data fixtures ran, and
stopped before the database is flushed; a test that writes while the browser is up does it
through ``off_loop``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from django.db import connections
from playwright.sync_api import expect

import conftest as root_conftest
from conftest import ARTIFACTS, PASSWORD, ROOT, ServerProcess

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    # A microphone for voice messages: Chromium's fake device (a beep), its permission granted,
    # and recordings that may play without a click.
    "--use-fake-device-for-media-stream",
    "--use-fake-ui-for-media-stream",
    "--autoplay-policy=no-user-gesture-required",
]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# axe-core from npm (package.json / package-lock.json; `make test` runs `npm ci`).
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0, 2.1 and 2.2, levels A and AA; what fails the check is a serious or critical finding.
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
AXE_FAILING_IMPACTS = ("serious", "critical")
DESKTOP = {"width": 1280, "height": 800}
MOBILE = {"width": 375, "height": 740}


T = TypeVar("T")


def off_loop(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ORM/service code in a fresh thread, away from Playwright's running event loop."""

    def run() -> T:
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result()


class PageErrors:
    """Console errors and failed page scripts (a CSP violation shows up here) of all pages."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def watch(self, page) -> None:
        page.on("console", lambda msg: msg.type == "error" and self.errors.append(msg.text))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))


def require_chromium(path: str = CHROMIUM, environ: Mapping[str, str] = os.environ) -> None:
    """Skip when the browser is missing, except under CI=true, where that fails the test: CI
    must not pass without the browser tests, as it must not without PostgreSQL and Redis
    (scripts/run-tests.sh)."""
    if Path(path).exists():
        return
    reason = f"needs Debian's {path} (scripts/ensure-chromium.sh)"
    if environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def require_axe(path: Path = AXE_JS, environ: Mapping[str, str] = os.environ) -> None:
    """Skip without node_modules/axe-core (fail under CI=true), as for the browser itself."""
    if path.exists():
        return
    reason = f"needs {path.relative_to(ROOT)} (npm ci; make test installs it)"
    if environ.get("CI") == "true":
        pytest.fail(f"CI=true: {reason}", pytrace=False)
    pytest.skip(reason)


def axe_serious(page: Any, context: str | None = None) -> list[dict[str, Any]]:
    """axe-core's serious and critical WCAG A/AA violations on the page (in ``context``, a CSS
    selector, or the whole document).

    axe is evaluated through DevTools (page.evaluate), not added as a <script>: the page keeps
    its Content-Security-Policy (script-src 'self' refuses an inline script tag), so what is
    checked is exactly the page people get, and a CSP violation still shows in PageErrors.
    """
    require_axe()
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate("() => {\n" + AXE_JS.read_text(encoding="utf-8") + "\n}")
    results = page.evaluate(
        "([context, tags]) => axe.run(context || document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']})",
        [context, AXE_TAGS],
    )
    return [v for v in results["violations"] if v["impact"] in AXE_FAILING_IMPACTS]


def describe_violations(violations: list[dict[str, Any]], nodes: int = 10) -> str:
    """One paragraph per rule: its id, impact and help, then each element and why it fails."""
    lines = []
    for v in violations:
        lines.append(f"{v['id']} ({v['impact']}): {v['help']} — {v['helpUrl']}")
        for node in v["nodes"][:nodes]:
            lines.append(f"  {' > '.join(map(str, node['target']))}")
            lines.append(f"    {node['html'][:200]}")
            summary = (node.get("failureSummary") or "").replace("\n", " ").strip()
            if summary:
                lines.append(f"    {summary[:300]}")
        if len(v["nodes"]) > nodes:
            lines.append(f"  … and {len(v['nodes']) - nodes} more")
    return "\n".join(lines)


@pytest.fixture(autouse=True)
def _no_send_limit(settings):
    """Browser tests send as fast as people click; the send budget is tested elsewhere."""
    settings.SEND_RATE_LIMIT = 10_000


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def open_as(page_errors) -> Iterator[Callable[..., object]]:
    """``open_as(server, username, viewport=..., color_scheme=...)``: a logged-in page in its own
    browser context (its own cookies), as a second person on another machine would be."""
    require_chromium()
    from playwright.sync_api import sync_playwright

    contexts = []
    running: dict[str, Any] = {}

    def browser() -> Any:
        if not running:
            running["playwright"] = sync_playwright().start()
            running["browser"] = running["playwright"].chromium.launch(
                executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
            )
        return running["browser"]

    def open_page(server: ServerProcess, username: str, viewport=DESKTOP, color_scheme="light"):
        context = browser().new_context(
            viewport=viewport, color_scheme=color_scheme, locale="en-GB", reduced_motion="reduce"
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        page_errors.watch(page)
        log_in(page, server, username)
        return page

    yield open_page
    for context in contexts:
        context.close()
    if running:
        running["browser"].close()
        running["playwright"].stop()


def log_in(page: Any, server: ServerProcess, username: str) -> None:
    """Log in through the login form; the page ends on the home page."""
    page.goto(f"{server.url}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{server.url}/")


@pytest.fixture
def start_on_port(start_server, monkeypatch) -> Callable[[int], ServerProcess]:
    """Start a fresh server process on a given port (the root fixture, told which port). After
    killing the one that served a page, this is, to the page, a real dropped connection
    followed by a server that is back."""

    def start(port: int) -> ServerProcess:
        monkeypatch.setattr(root_conftest, "free_port", lambda: port)
        return start_server()

    return start


def search_to_invite(page: Any, typed: str, username: str) -> Any:
    """Type ``typed`` into the member panel's invite search until the "Invite <username>" button
    shows, and return it. Typed at a person's pace; a first burst can land before htmx has wired
    the freshly swapped-in input, so the keystrokes are repeated until the active search answers."""
    search = page.get_by_label("Invite by username")
    invite = page.locator("#member-panel").get_by_role("button", name=f"Invite {username}")
    for _ in range(3):
        search.fill("")
        search.press_sequentially(typed, delay=40)
        try:
            expect(invite).to_be_visible(timeout=3000)
            break
        except AssertionError:
            continue
    expect(invite).to_be_visible()
    return invite


def save_screenshot(page: Any, name: str) -> Path:
    """Screenshot into docs/screenshots/ (the README's) when UPDATE_SCREENSHOTS=1 or it is
    missing there; otherwise into test-artifacts/, so a test run leaves the checkout clean."""
    target = SCREENSHOTS / name
    if target.exists() and os.environ.get("UPDATE_SCREENSHOTS") != "1":
        target = ARTIFACTS / "screenshots" / name
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))
    return target
