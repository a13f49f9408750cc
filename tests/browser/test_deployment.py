"""A page served through nginx (deploy/nginx.conf) by two app processes: when the process holding
its socket dies, the page reconnects through nginx to the other one and catches up."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import expect

from messaging.models import Message
from messaging.services import message_send
from rooms import services
from tests.browser.conftest import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server, pytest.mark.services]


def test_a_page_behind_nginx_outlives_the_app_process_it_was_on(deployment, make_user, open_as):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    message_send(sender=bob, room_id=room.id, body="before the outage")

    deployment.apps[1].stop()  # so that everything the page opens lands on app process 0
    page = open_as(deployment, "alice")
    page.goto(f"{deployment.url}/r/{room.id}/")
    composer = page.locator("#composer-body")
    expect(composer).to_be_enabled()  # the socket said hello
    assert page.evaluate("document.querySelector('script[src*=\"/static/js/chat\"]').src").startswith(
        f"{deployment.url}/static/js/chat."  # DEBUG off: the collected, hashed file, from nginx
    )
    deployment.restart(1)

    deployment.apps[0].kill()  # the page's process dies; nginx still answers, from process 1
    for i in range(3):
        off_loop(message_send, sender=bob, room_id=room.id, body=f"while you were away {i}")
    expect(page.locator("#connection-banner")).to_be_hidden(timeout=20_000)
    expect(composer).to_be_enabled(timeout=20_000)
    listed = page.locator("#messages li.message")
    for body in ["before the outage"] + [f"while you were away {i}" for i in range(3)]:
        expect(listed.filter(has_text=re.compile(f"^{body}$|{body}"))).to_have_count(1)

    composer.fill("back, through the other process")
    composer.press("Enter")
    expect(listed.filter(has_text="back, through the other process")).to_have_count(1)
    sent = listed.filter(has_text="back, through the other process")
    expect(sent).not_to_have_class(re.compile("pending"))
    expect(sent).not_to_have_class(re.compile("failed"))  # a 502 from nginx ends "pending" too
    time.sleep(0.5)
    assert off_loop(Message.objects.filter(room=room).count) == 5
