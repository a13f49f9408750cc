"""The API docs (Redoc and Swagger UI) in a real browser: they render and load nothing from
outside the site, so they work offline and the Content-Security-Policy refuses nothing."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.mark.parametrize(
    ("path", "rendered"),
    [("/api/redoc/", "redoc-container, .redoc-wrap"), ("/api/docs/", "#swagger-ui .information-container")],
)
def test_api_docs_render_and_load_nothing_from_outside(
    start_server, open_as, page_errors, make_user, path, rendered
):
    make_user("alice")
    server = start_server()
    page = open_as(server, "alice")
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{server.url}{path}")
    expect(page.locator(rendered).first).to_be_visible()
    expect(page.get_by_text("Parley API").first).to_be_visible()
    page.wait_for_load_state("networkidle")
    origin = urlsplit(server.url).netloc
    outside = [
        url
        for url in requested
        if urlsplit(url).scheme in ("http", "https") and urlsplit(url).netloc != origin
    ]
    assert outside == []
    assert page_errors.errors == [], (
        requested,
        page_errors.errors,
    )  # a refused font or script would be a console error
