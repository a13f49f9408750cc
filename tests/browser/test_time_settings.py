"""Time zone and 12/24-hour clock in a real browser: the times of messages rendered with the
page and of messages pushed live follow the profile's setting, and agree."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from messaging.models import Message
from messaging.services import message_send
from rooms import services
from tests.browser.conftest import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server]

KOLKATA = zoneinfo.ZoneInfo("Asia/Kolkata")  # UTC+5:30: no browser's zone by accident


def twelve_hour(moment: datetime) -> str:
    local = moment.astimezone(KOLKATA)
    return f"{local.hour % 12 or 12}:{local.minute:02d} {'PM' if local.hour >= 12 else 'AM'}".lower()


def test_message_times_follow_the_chosen_zone_and_clock_rendered_and_live(
    start_server, open_as, page_errors, make_user
):
    alice = make_user("alice", time_zone="Asia/Kolkata", clock="12")
    bob = make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    old = message_send(sender=bob, room_id=room.id, body="from the morning").message
    Message.objects.filter(pk=old.pk).update(created_at=datetime(2026, 1, 5, 13, 7, tzinfo=UTC))
    server = start_server()
    page = open_as(server, "alice")
    page.goto(f"{server.url}/r/{room.id}/")
    expect(page.locator("#composer-body")).to_be_enabled()
    rendered = page.locator("#messages li.message").filter(has_text="from the morning").locator("time")
    expect(rendered).to_have_text("6:37 pm", ignore_case=True)  # 13:07 UTC in Kolkata, 12-hour

    bob_page = open_as(server, "bob")
    bob_page.goto(f"{server.url}/r/{room.id}/")
    expect(bob_page.locator("#composer-body")).to_be_enabled()
    bob_page.locator("#composer-body").fill("live one")
    bob_page.locator("#composer-body").press("Enter")
    live = page.locator("#messages li.message").filter(has_text="live one").locator("time")
    expect(live).to_have_count(1)
    sent_at = off_loop(lambda: Message.objects.get(body="live one").created_at)
    expect(live).to_have_text(twelve_hour(sent_at), ignore_case=True)
    # The same message, rendered with the page after a reload, reads the same.
    live_text = live.text_content()
    page.reload()
    expect(page.locator("#messages li.message").filter(has_text="live one").locator("time")).to_have_text(
        live_text
    )

    # The profile page switches to 24-hour.
    page.goto(f"{server.url}/account/")
    expect(page.get_by_label("Time zone")).to_have_value("Asia/Kolkata")
    page.get_by_label("Clock").select_option("24")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved.")).to_be_visible()
    page.goto(f"{server.url}/r/{room.id}/")
    expect(
        page.locator("#messages li.message").filter(has_text="from the morning").locator("time")
    ).to_have_text("18:37")
    assert not page_errors.errors
