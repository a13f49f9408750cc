"""The page without WebSockets: Playwright refuses every /ws/ socket of the page (closed as soon
as it opens, as a proxy that breaks upgrades does), so the page must switch to the event stream
by itself, still receive and send, say so in words, and go back to the WebSocket once sockets
are let through again, without losing or repeating a message."""

from __future__ import annotations

import os
import re
import signal

import pytest
import requests
from playwright.sync_api import expect
from rest_framework_simplejwt.tokens import AccessToken

from bench.infra import process_tree
from messaging.models import Message
from rooms import services
from tests.browser.conftest import axe_serious, describe_violations, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server]

# Fast for the test: a hello due within 1.5 s; the WebSocket tried again after about 2 s.
FAST = {"WS_PING_INTERVAL_MS": "1000", "WS_PONG_TIMEOUT_MS": "1500", "WS_RETRY_MS": "2000"}


@pytest.fixture
def general(make_user):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    return room, bob


def say_over_rest(server, room, user, body: str) -> None:
    """A message sent over REST to the server, which publishes it itself."""
    token = off_loop(lambda: str(AccessToken.for_user(user)))
    response = requests.post(
        f"{server.url}/api/rooms/{room.id}/messages/",
        json={"body": body, "client_id": body},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert response.status_code == 201, response.text


def test_blocked_websockets_fall_back_to_the_event_stream_and_back(start_server, open_as, general):
    room, bob = general
    server = start_server(extra_env=FAST)
    page = open_as(server, "alice")
    blocked = {"on": True, "refused": 0}

    def route(ws) -> None:
        if blocked["on"]:
            blocked["refused"] += 1
            ws.close()
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r"/ws/"), route)
    page.goto(f"{server.url}/r/{room.id}/")
    note = page.locator("#transport-status")
    expect(note).to_have_text(re.compile("fallback event stream"), timeout=20_000)
    assert blocked["refused"] >= 3
    violations = axe_serious(page)
    assert not violations, describe_violations(violations)

    def bob_says(body: str) -> None:
        say_over_rest(server, room, bob, body)

    messages = page.locator("#messages li.message")
    bob_says("over the stream")
    expect(messages.filter(has_text="over the stream")).to_have_count(1)
    composer = page.locator("#composer-body")
    composer.fill("sent over rest")
    composer.press("Enter")
    sent = messages.filter(has_text="sent over rest")
    expect(sent).to_have_count(1)
    expect(sent).not_to_have_class(re.compile("pending|failed"))
    assert page.evaluate("() => document.getElementById('app').parleyState().transport") == "events"

    blocked["on"] = False
    expect(note).to_have_text("Live over WebSocket.", timeout=30_000)
    bob_says("over the socket again")
    expect(messages.filter(has_text="over the socket again")).to_have_count(1)
    for body in ("over the stream", "sent over rest"):
        expect(messages.filter(has_text=body)).to_have_count(1)  # nothing twice across the switch
    assert off_loop(Message.objects.filter(room=room, body="sent over rest").count) == 1
    composer.fill("and over the socket")
    composer.press("Enter")
    expect(messages.filter(has_text="and over the socket")).not_to_have_class(re.compile("pending|failed"))


# Counts the page's event streams (a subclass keeps EventSource's constants).
COUNT_STREAMS = """
window.__streams = 0;
window.EventSource = class extends window.EventSource {
  constructor(...args) { super(...args); window.__streams += 1; }
};
"""


def test_a_stalled_event_stream_is_replaced_and_catches_up(start_server, open_as, general):
    """A connection that stops carrying without closing (a NAT or proxy that dropped it, a frozen
    server): the EventSource stays open and would wait for ever. The page hears no heartbeat for
    2.5 of them, says the connection is lost, opens a new stream, and catches up from its cursor.
    The server is frozen for real (SIGSTOP): its sockets stay open and silent."""
    room, bob = general
    server = start_server(extra_env={**FAST, "SSE_HEARTBEAT_SECONDS": "1"})
    page = open_as(server, "alice")
    page.context.add_init_script(COUNT_STREAMS)
    page.route_web_socket(re.compile(r"/ws/"), lambda ws: ws.close())
    page.goto(f"{server.url}/r/{room.id}/")
    note = page.locator("#transport-status")
    expect(note).to_have_text(re.compile("fallback event stream"), timeout=20_000)
    assert page.evaluate("() => window.__streams") == 1
    banner = page.locator("#connection-banner")
    expect(banner).to_be_hidden()

    frozen = process_tree(server.proc.pid)
    for pid in frozen:
        os.kill(pid, signal.SIGSTOP)
    try:
        expect(banner).to_contain_text("Connection lost", timeout=8_000)  # 2.5 s of silence, and more
        page.wait_for_function("() => window.__streams >= 2", timeout=8_000)  # the stalled one replaced
    finally:
        for pid in frozen:
            os.kill(pid, signal.SIGCONT)
    say_over_rest(server, room, bob, "after the stall")
    expect(page.locator("#messages li.message").filter(has_text="after the stall")).to_have_count(1)
    expect(banner).to_be_hidden()
    assert page.evaluate("() => document.getElementById('app').parleyState().transport") == "events"
