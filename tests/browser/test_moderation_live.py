"""Moderation reaching open pages without a reload: a site-wide mute from the admin disables
the muted person's open composer (``account.muted``); a mute's end clears "Muted until" from an
open member panel (the page's timer, set from the end the server rendered); a block made in
one tab collapses the blocked person's messages in the blocker's other tab (``blocks.updated``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.utils import timezone
from playwright.sync_api import expect

from messaging import services as messages
from messaging.models import MessageReport
from rooms import moderation, services
from rooms.models import RoomMute
from tests.browser.conftest import off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_a_site_wide_mute_disables_the_muted_persons_open_composer_live(
    start_server, open_as, page_errors, make_user
):
    ann, ben = make_user("ann"), make_user("ben")
    mod = make_user("mod", is_staff=True)
    mod.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_messagereport", "moderate_messagereport"])
    )
    room = services.room_create(creator=ann, name="General")
    services.room_join(user=ben, room_id=room.id)
    said = messages.message_send(sender=ben, room_id=room.id, body="buy cheap pills").message
    MessageReport.objects.create(message=said, reporter=ann, reason="spam")
    server = start_server()
    ben_page = open_as(server, "ben")
    ben_page.goto(f"{server.url}/r/{room.id}/")
    expect(ben_page.locator("#composer-body")).to_be_enabled()  # the socket said hello

    mod_page = open_as(server, "mod")
    mod_page.goto(f"{server.url}/admin/messaging/messagereport/")
    mod_page.locator('input[name="_selected_action"]').first.check()
    mod_page.locator('select[name="action"]').select_option("mute_authors")
    mod_page.get_by_role("button", name="Go").click()
    mod_page.get_by_label("Mute for").select_option(label="1 day")
    mod_page.get_by_label("Reason").fill("pill spam")
    mod_page.get_by_role("button", name="Mute the authors site-wide").click()
    expect(mod_page.locator(".messagelist")).to_be_visible()

    expect(ben_page.locator("#composer-body")).to_be_disabled()
    blocked = ben_page.locator("#composer-blocked")
    expect(blocked).to_contain_text("You are muted on this site until")
    expect(blocked).to_contain_text("pill spam")
    assert page_errors.errors == []


def test_muted_until_leaves_an_open_member_panel_when_the_mute_ends(
    start_server, open_as, page_errors, make_user
):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    moderation.member_mute(actor=alice, room_id=room.id, user_id=bob.id, minutes=60, reason="calm", via="api")
    server = start_server()
    alice_page = open_as(server, "alice")
    alice_page.goto(f"{server.url}/r/{room.id}/")
    expect(alice_page.locator("#composer-body")).to_be_enabled()
    # The mute now ends in a few seconds (set once the page is up: the machine may be slow).
    off_loop(
        lambda: RoomMute.objects.filter(room=room, user=bob).update(
            until=timezone.now() + timedelta(seconds=10)
        )
    )
    alice_page.locator("#members-toggle").click()
    row = alice_page.locator(f'.member[data-user-id="{bob.id}"]')
    expect(row.locator(".member-muted")).to_contain_text("Muted until")

    expect(row.locator(".member-muted")).to_have_count(0, timeout=30_000)
    row.get_by_text("Moderate").click()
    expect(row.get_by_role("button", name="Mute", exact=True)).to_be_visible()  # not "Unmute"
    assert page_errors.errors == []


def test_a_block_in_one_tab_collapses_their_messages_in_the_other(
    start_server, open_as, page_errors, make_user
):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    said = messages.message_send(sender=bob, room_id=room.id, body="something annoying").message
    server = start_server()
    other_tab = open_as(server, "alice")
    other_tab.goto(f"{server.url}/r/{room.id}/")
    expect(other_tab.locator("#composer-body")).to_be_enabled()
    message = other_tab.locator(f"#msg-{said.id}")
    expect(message.locator(".message-body")).to_be_visible()

    tab = open_as(server, "alice")
    tab.goto(f"{server.url}/r/{room.id}/")
    tab.locator("#members-toggle").click()
    tab.locator(f'.member[data-user-id="{bob.id}"]').get_by_role("button", name="Block").click()

    expect(message.locator(".message-body")).to_be_hidden()
    expect(message.get_by_role("button", name="Message from someone you blocked: show")).to_be_visible()
    tab.locator(f'.member[data-user-id="{bob.id}"]').get_by_role("button", name="Unblock").click()
    expect(message.locator(".message-body")).to_have_text("something annoying")
    expect(message.locator(".reveal-blocked")).to_have_count(0)
    assert page_errors.errors == []
