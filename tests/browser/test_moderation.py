"""Room moderation in a real browser: a room admin mutes a member from the member panel, and
the member's open page disables its composer at once, saying why and until when; the settings
page's moderation section passes axe in both themes."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from messaging import services as message_services
from rooms import services
from rooms.models import Membership
from tests.browser.conftest import axe_serious, describe_violations

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_a_room_admin_mutes_a_member_and_their_composer_disables_live(
    start_server, open_as, page_errors, make_user
):
    alice, bob, carl = make_user("alice"), make_user("bob"), make_user("carl")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    services.room_join(user=carl, room_id=room.id)
    Membership.objects.filter(room=room, user=carl).update(role="admin")
    server = start_server()
    bob_page = open_as(server, "bob")
    bob_page.goto(f"{server.url}/r/{room.id}/")
    expect(bob_page.locator("#composer-body")).to_be_enabled()  # the socket said hello

    carl_page = open_as(server, "carl")
    carl_page.goto(f"{server.url}/r/{room.id}/")
    carl_page.locator("#members-toggle").click()
    row = carl_page.locator(f'.member[data-user-id="{bob.id}"]')
    row.get_by_text("Moderate").click()
    row.get_by_label("Mute for").select_option(label="1 hour")
    row.get_by_label("Reason").fill("cool down please")
    row.get_by_role("button", name="Mute").click()
    expect(carl_page.locator(f'.member[data-user-id="{bob.id}"]')).to_contain_text("Muted until")

    # Live, without a reload: disabled, with the reason and the end.
    expect(bob_page.locator("#composer-body")).to_be_disabled()
    blocked = bob_page.locator("#composer-blocked")
    expect(blocked).to_be_visible()
    expect(blocked).to_contain_text("You are muted in this room until")
    expect(blocked).to_contain_text("cool down please")
    assert axe_serious(bob_page) == [], describe_violations(axe_serious(bob_page))

    # A reload (and so a reconnect) keeps it; unmuting enables it live again.
    bob_page.reload()
    expect(bob_page.locator("#composer-blocked")).to_contain_text("cool down please")
    expect(bob_page.locator("#composer-body")).to_be_disabled()
    carl_page.locator(f'.member[data-user-id="{bob.id}"]').get_by_text("Moderate").click()
    carl_page.locator(f'.member[data-user-id="{bob.id}"]').get_by_role("button", name="Unmute").click()
    expect(bob_page.locator("#composer-body")).to_be_enabled()
    expect(bob_page.locator("#composer-blocked")).to_be_hidden()
    assert page_errors.errors == []


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_settings_moderation_section_and_member_panel_pass_axe(start_server, open_as, make_user, scheme):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    services.member_remove(actor=alice, room_id=room.id, user_id=bob.id, via="web", reason="test entry")
    services.room_join(user=bob, room_id=room.id)
    server = start_server()
    page = open_as(server, "alice", color_scheme=scheme)
    page.goto(f"{server.url}/rooms/{room.id}/settings/")
    expect(page.get_by_role("heading", name="Moderation log")).to_be_visible()
    expect(page.locator(".moderation-log")).to_contain_text("test entry")
    assert axe_serious(page) == [], describe_violations(axe_serious(page))
    page.goto(f"{server.url}/r/{room.id}/")
    page.locator("#members-toggle").click()
    row = page.locator(f'.member[data-user-id="{bob.id}"]')
    row.get_by_text("Moderate").click()
    expect(row.get_by_role("button", name="Mute")).to_be_visible()
    assert axe_serious(page) == [], describe_violations(axe_serious(page))


@pytest.mark.services
def test_a_mute_on_one_process_disables_a_composer_on_another_within_a_second(
    start_server, open_as, make_user
):
    """Two server processes sharing PostgreSQL and Redis: the admin acts on process A, the
    muted member's page is served, and its socket held, by process B."""
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    server_a, server_b = start_server(), start_server()
    bob_page = open_as(server_b, "bob")
    bob_page.goto(f"{server_b.url}/r/{room.id}/")
    expect(bob_page.locator("#composer-body")).to_be_enabled()
    alice_page = open_as(server_a, "alice")
    alice_page.goto(f"{server_a.url}/r/{room.id}/")
    alice_page.locator("#members-toggle").click()
    row = alice_page.locator(f'.member[data-user-id="{bob.id}"]')
    row.get_by_text("Moderate").click()
    row.get_by_label("Reason").fill("across processes")
    row.get_by_role("button", name="Mute").click()
    expect(row.locator(".member-muted")).to_be_visible()  # process A has committed it
    expect(bob_page.locator("#composer-body")).to_be_disabled(timeout=1000)
    expect(bob_page.locator("#composer-blocked")).to_contain_text("across processes", timeout=1000)


def test_blocking_a_member_collapses_their_messages_for_you_only(
    start_server, open_as, page_errors, make_user
):
    alice, bob = make_user("alice"), make_user("bob")
    make_user("carl")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    said = message_services.message_send(sender=bob, room_id=room.id, body="something annoying").message
    server = start_server()
    page = open_as(server, "alice")
    page.goto(f"{server.url}/r/{room.id}/")
    expect(page.locator("#composer-body")).to_be_enabled()
    page.locator("#members-toggle").click()
    page.locator(f'.member[data-user-id="{bob.id}"]').get_by_role("button", name="Block").click()
    expect(
        page.locator(f'.member[data-user-id="{bob.id}"]').get_by_role("button", name="Unblock")
    ).to_be_visible()
    message = page.locator(f"#msg-{said.id}")
    expect(message.locator(".message-body")).to_be_hidden()
    reveal = message.get_by_role("button", name="Message from someone you blocked: show")
    reveal.focus()
    page.keyboard.press("Enter")
    expect(message.locator(".message-body")).to_have_text("something annoying")
    assert axe_serious(page) == [], describe_violations(axe_serious(page))
    # A new message from them arrives collapsed.
    bob_page = open_as(server, "bob")
    bob_page.goto(f"{server.url}/r/{room.id}/")
    bob_page.locator("#composer-body").fill("more of it")
    bob_page.keyboard.press("Enter")
    expect(bob_page.locator("li.message", has_text="more of it")).to_be_visible()  # not collapsed for bob
    later = page.locator("li.message").last
    expect(later.locator(".reveal-blocked")).to_be_visible()
    expect(later.locator(".message-body")).to_be_hidden()
    assert page_errors.errors == []
