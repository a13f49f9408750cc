"""The page and its connection in a real browser: a hung server (frozen with SIGSTOP, so its
sockets stay open and silent) is found by the ping/pong deadline, and what was written meanwhile
is sent once the server is back, exactly once."""

from __future__ import annotations

import os
import re
import signal

import pytest
from playwright.sync_api import expect

from messaging.models import Message
from rooms import services
from tests.browser.conftest import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server]

# A fast deadline for the test; production pings every 15 s and waits 10 s.
FAST_PING = {"WS_PING_INTERVAL_MS": "1000", "WS_PONG_TIMEOUT_MS": "1500"}


@pytest.fixture
def general(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    return room


def test_a_frozen_server_shows_the_banner_and_what_was_written_meanwhile_is_sent_once(
    start_server, open_as, general
):
    server = start_server(extra_env=FAST_PING)
    page = open_as(server, "alice")
    page.goto(f"{server.url}/r/{general.id}/")
    composer = page.locator("#composer-body")
    banner = page.locator("#connection-banner")
    expect(composer).to_be_enabled()

    os.kill(server.proc.pid, signal.SIGSTOP)  # the socket stays open; nothing answers on it
    try:
        composer.fill("written while frozen")
        composer.press("Enter")
        written = page.locator("#messages li.message").filter(has_text="written while frozen")
        expect(written).to_have_count(1)
        # Found by the deadline (a ping each second, 1.5 s to answer), not by TCP.
        expect(banner).to_have_text(re.compile("Reconnecting"), timeout=6_000)
        expect(written).to_contain_text("waiting for the connection")
        expect(written.get_by_role("button", name="Retry")).to_have_count(0)  # it goes by itself
        expect(composer).to_be_disabled()
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)

    expect(banner).to_be_hidden(timeout=20_000)
    expect(composer).to_be_enabled()
    expect(page.locator("#messages li.message.pending, #messages li.message.failed")).to_have_count(0)
    expect(page.locator("#messages li.message").filter(has_text="written while frozen")).to_have_count(1)
    # The frame sent into the frozen socket reached the server after all, and the page sent it
    # again on the new socket with the same client_id: stored once.
    assert off_loop(Message.objects.filter(room=general, body="written while frozen").count) == 1

    composer.fill("live again")
    composer.press("Enter")
    expect(page.locator("#messages li.message").filter(has_text="live again")).not_to_have_class(
        re.compile("pending")
    )
    page.reload()
    expect(page.locator("#messages li.message").filter(has_text="written while frozen")).to_have_count(1)
