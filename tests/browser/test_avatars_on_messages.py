"""Avatars on messages in a real browser: alice uploads a picture on her profile page; the
message she then sends reaches bob's open page (the partial rendered once for every receiver)
with her picture loaded beside her name, and bob's own message shows his initials."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from playwright.sync_api import expect

from rooms import services

pytestmark = [pytest.mark.browser, pytest.mark.server]


def test_a_live_message_shows_its_authors_picture(start_server, open_as, page_errors, make_user, tmp_path):
    alice, bob = make_user("alice"), make_user("bob")
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    picture = tmp_path / "me.png"
    buffer = io.BytesIO()
    Image.new("RGB", (64, 64), "teal").save(buffer, "PNG")
    picture.write_bytes(buffer.getvalue())
    server = start_server()

    alice_page = open_as(server, "alice")
    alice_page.goto(f"{server.url}/account/")
    alice_page.get_by_label("Picture").set_input_files(str(picture))
    alice_page.get_by_role("button", name="Upload picture").click()
    expect(alice_page.get_by_role("button", name="Remove picture")).to_be_visible()

    bob_page = open_as(server, "bob")
    bob_page.goto(f"{server.url}/r/{room.id}/")
    expect(bob_page.locator("#composer-body")).to_be_enabled()
    alice_page.goto(f"{server.url}/r/{room.id}/")
    alice_page.locator("#composer-body").fill("look, a picture")
    alice_page.keyboard.press("Enter")

    said = bob_page.locator("li.message", has_text="look, a picture")
    avatar = said.locator("img.message-avatar")
    expect(avatar).to_be_visible()
    expect(avatar).to_have_attribute("alt", "")
    bob_page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=avatar.element_handle())
    bob_page.locator("#composer-body").fill("nice")
    bob_page.keyboard.press("Enter")
    mine = bob_page.locator("li.message", has_text="nice").last
    expect(mine.locator(".avatar-initials.message-avatar")).to_have_text("B")
    assert page_errors.errors == []
