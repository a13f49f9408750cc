"""Files in real browsers: drop, paste, pick and remove files, upload progress, thumbnails for
both people, the lightbox by keyboard, a voice message from Chromium's fake microphone that the
other person plays, and a non-member's 404 for the file's URL."""

from __future__ import annotations

import base64
import io
import re

import pytest
from PIL import Image
from playwright.sync_api import expect

from messaging.models import Attachment
from rooms import services
from tests.browser.conftest import axe_serious, describe_violations, off_loop

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture
def general(make_user):
    alice = make_user("alice", display_name="Alice Liddell")
    bob = make_user("bob", display_name="Bob Builder")
    make_user("carol")  # not a member
    room = services.room_create(creator=alice, name="General")
    services.room_join(user=bob, room_id=room.id)
    return room


def png_b64(size: tuple[int, int], color: tuple[int, int, int]) -> str:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, format="PNG")
    return base64.b64encode(out.getvalue()).decode()


FILES_JS = """([name, type, b64]) => {
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const data = new DataTransfer();
  data.items.add(new File([bytes], name, {type}));
  return data;
}"""


def drop_file(page, name: str, type_: str, b64: str) -> None:
    data = page.evaluate_handle(FILES_JS, [name, type_, b64])
    page.dispatch_event(".conversation", "dragover", {"dataTransfer": data})
    page.dispatch_event(".conversation", "drop", {"dataTransfer": data})


def paste_file(page, name: str, type_: str, b64: str) -> None:
    page.evaluate(
        """([name, type, b64]) => {
          const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], name, {type}));
          document.getElementById("composer-body").dispatchEvent(
            new ClipboardEvent("paste", {clipboardData: data, bubbles: true, cancelable: true}));
        }""",
        [name, type_, b64],
    )


def open_room(page) -> None:
    page.get_by_role("link", name="General").click()
    expect(page.locator("#composer-body")).to_be_enabled()


def test_drop_paste_remove_lightbox_voice_and_non_member_404(
    start_server, open_as, page_errors, general, tmp_path
):
    server = start_server(extra_env={"MEDIA_ROOT": str(tmp_path)})
    alice, bob = open_as(server, "alice"), open_as(server, "bob", color_scheme="dark")
    for page in (alice, bob):
        open_room(page)

    # Drop an image; its upload is held back by the network a moment, so its progress shows.
    held = []
    alice.route(re.compile(r"/api/rooms/\d+/attachments/$"), lambda route: held.append(route))
    drop_file(alice, "red.png", "image/png", png_b64((600, 400), (220, 20, 20)))
    tray = alice.locator("#attachment-tray")
    expect(tray.locator("progress")).to_be_visible()
    expect(tray).to_contain_text("red.png")
    while not held:  # the upload reached the network, and waits there
        alice.wait_for_timeout(50)
    expect(tray.locator(".tray-status")).to_have_text("Uploading…")
    held[0].continue_()
    alice.unroute(re.compile(r"/api/rooms/\d+/attachments/$"))
    expect(tray).to_contain_text("Ready")

    # Pick a file with the button; its upload fails once (the network drops it) and is retried;
    # then it is removed before sending, and is not sent.
    failures = []

    def fail_once(route):
        if failures:
            route.continue_()
        else:
            failures.append(route.request.url)
            route.abort()

    alice.route(re.compile(r"/api/rooms/\d+/attachments/$"), fail_once)
    with alice.expect_file_chooser() as chooser:
        alice.get_by_role("button", name="Attach files").click()
    chooser.value.set_files(files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"draft notes"}])
    expect(tray.locator(".tray-item")).to_have_count(2)
    notes = tray.locator(".tray-item", has_text="notes.txt")
    expect(notes).to_contain_text("Upload failed")
    notes.get_by_role("button", name="Retry uploading notes.txt").click()
    expect(notes).to_contain_text("Ready")
    alice.unroute(re.compile(r"/api/rooms/\d+/attachments/$"))
    assert page_errors.errors == ["Failed to load resource: net::ERR_FAILED"]  # the dropped upload
    page_errors.errors.clear()
    tray.get_by_role("button", name="Remove notes.txt").click()
    expect(tray.locator(".tray-item")).to_have_count(1)

    # The tray and a message with files pass axe, light and dark.
    violations = axe_serious(alice)
    assert not violations, describe_violations(violations)

    alice.locator("#composer-body").fill("the red one")
    alice.locator("#composer-body").press("Enter")
    for page in (alice, bob):
        image = page.locator("#messages li.message", has_text="the red one").locator(".attachment-image img")
        expect(image).to_have_attribute("width", "480")
        expect(image).to_have_attribute("height", "320")  # the thumbnail's space, reserved
        page.wait_for_function(
            "(img) => img.complete && img.naturalWidth === 480", arg=image.element_handle()
        )
    expect(tray).to_be_hidden()
    violations = axe_serious(bob)
    assert not violations, describe_violations(violations)

    # Bob opens the lightbox from the keyboard, closes it with Escape, and is back on the link.
    link = bob.locator("#messages a.attachment-image").first
    link.focus()
    bob.keyboard.press("Enter")
    dialog = bob.locator("#lightbox")
    expect(dialog).to_be_visible()
    bob.wait_for_function("() => document.getElementById('lightbox-image').naturalWidth === 600")
    violations = axe_serious(bob)
    assert not violations, describe_violations(violations)
    bob.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(link).to_be_focused()

    # Paste an image into the composer and send it without a caption.
    paste_file(alice, "image.png", "image/png", png_b64((40, 30), (20, 20, 220)))
    expect(tray).to_contain_text("Ready")
    alice.locator("#composer-body").press("Enter")
    expect(bob.locator('#messages .attachment-image img[width="40"][height="30"]')).to_be_visible()

    # A voice message from Chromium's fake microphone; Bob plays it.
    alice.get_by_role("button", name="Record a voice message").click()
    expect(alice.locator("#voice-recorder")).to_be_visible()
    alice.wait_for_timeout(1600)
    expect(alice.locator("#voice-elapsed")).not_to_have_text("0:00")
    alice.get_by_role("button", name="Send voice message").click()
    audio = bob.locator("#messages .voice audio")
    expect(audio).to_have_count(1)
    expect(bob.locator("#messages .voice-duration")).to_have_text(re.compile(r"0:0[1-3]"))
    bob.wait_for_function("(a) => a.play().then(() => true) && a.readyState >= 1", arg=audio.element_handle())
    bob.wait_for_function("(a) => a.currentTime > 0", arg=audio.element_handle())

    assert page_errors.errors == []
    # A non-member gets the same 404 as a missing file (the browser logs that 404 as an error).
    first = off_loop(lambda: Attachment.objects.filter(kind="image").order_by("id").first())
    url = f"{server.url}/files/{first.id}/{first.name}"
    assert bob.request.get(url).status == 200
    carol = open_as(server, "carol")
    assert carol.goto(url).status == 404
    assert carol.request.get(f"{server.url}/files/{first.id}/thumb/").status == 404
    assert carol.request.get(f"{server.url}/files/999999/x.png").status == 404
