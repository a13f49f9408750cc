"""Attachments: upload, what is stored, sending them, fetching them, deleting them.

Every storage test runs twice: on local disk and on a real S3 API (moto in server mode, its own
process). The images are made here with Pillow.
"""

from __future__ import annotations

import io
import struct
import time
import urllib.request
import zlib
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone
from PIL import Image

from chatsite.realtime.models import Event
from conftest import s3_storages, scheduled_broadcasts
from messaging import changes, services, uploads
from messaging.exceptions import InvalidAttachments, InvalidMessage, InvalidUpload
from messaging.models import Attachment, Message
from rooms.exceptions import RoomNotFound

pytestmark = pytest.mark.django_db


# --- files made for the tests --------------------------------------------------------------------

GPS_IFD = 0x8825


def jpeg_with_gps(size=(64, 48), orientation: int | None = None, color=(200, 30, 30)) -> bytes:
    image = Image.new("RGB", size, color)
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[GPS_IFD] = {1: "N", 2: (52.0, 31.0, 12.0), 3: "E", 4: (13.0, 24.0, 36.0)}
    if orientation is not None:
        exif[0x0112] = orientation
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def sideways_photo() -> bytes:
    """A 60×20 photo stored sideways: its EXIF says "rotate 90° clockwise to view" (6). Upright
    it is 20×60, red on top, blue below."""
    upright = Image.new("RGB", (20, 60), (0, 0, 255))
    upright.paste((255, 0, 0), (0, 0, 20, 30))
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what a camera held sideways writes
    exif = Image.Exif()
    exif[0x0112] = 6
    out = io.BytesIO()
    stored.save(out, format="JPEG", exif=exif, quality=95)
    return out.getvalue()


def png(size=(1, 1), color=(0, 128, 0, 255)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, color).save(out, format="PNG")
    return out.getvalue()


def animated_gif(frames: int = 3) -> bytes:
    images = [Image.new("RGB", (30, 20), (i * 80, 255 - i * 80, 0)) for i in range(frames)]
    out = io.BytesIO()
    images[0].save(out, format="GIF", save_all=True, append_images=images[1:], duration=80, loop=0)
    return out.getvalue()


def png_bomb(width: int = 20000, height: int = 20000) -> bytes:
    """A PNG claiming 20000×20000 pixels (400 megapixels): only its header, never decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b""))
        + chunk(b"IEND", b"")
    )


def ogg_opus(seconds: float) -> bytes:
    """The first and last pages of an Ogg Opus stream lasting ``seconds`` (what the server reads)."""

    def page(granule: int, payload: bytes, serial: int = 7, sequence: int = 0) -> bytes:
        return (
            b"OggS\x00\x02"
            + struct.pack("<qIII", granule, serial, sequence, 0)
            + bytes([1, len(payload)])
            + payload
        )

    head = b"OpusHead\x01\x01" + struct.pack("<HIhB", 312, 48000, 0, 0)
    return page(0, head) + page(int(seconds * 48000) + 312, b"\x00" * 40, sequence=1)


def upload(name: str, data: bytes, content_type: str = "application/octet-stream") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


def stored_bytes(attachment: Attachment, field: str = "file") -> bytes:
    with getattr(attachment, field).open("rb") as handle:
        return handle.read()


# --- storages: every test below runs on local disk and on S3 -------------------------------------


@pytest.fixture(params=["local", pytest.param("s3", marks=pytest.mark.server)])
def storage(request, tmp_path, settings):
    if request.param == "local":
        local = {"default": {"BACKEND": "django.core.files.storage.FileSystemStorage"}}
        with override_settings(MEDIA_ROOT=tmp_path, STORAGES=settings.STORAGES | local):
            yield "local"
    else:
        endpoint, bucket = request.getfixturevalue("s3_bucket")
        with override_settings(STORAGES=s3_storages(endpoint, bucket)):
            yield "s3"


def fetch(client: Client, url: str, storage: str) -> tuple[int, dict, bytes]:
    """GET one of our file URLs as a browser would: (status, headers, bytes), following S3's
    redirect to its presigned link."""
    response = client.get(url)
    if response.status_code != 302:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        return response.status_code, {k.title(): v for k, v in response.headers.items()}, body
    assert storage == "s3", "only S3 answers with a redirect"
    location = response["Location"]
    query = parse_qs(urlsplit(location).query)
    assert "Signature" in query or "X-Amz-Signature" in query
    lifetime = (
        int(query["X-Amz-Expires"][0]) if "X-Amz-Expires" in query else int(query["Expires"][0]) - time.time()
    )
    assert 0 < lifetime <= 61, "a presigned link lives about a minute"
    with urllib.request.urlopen(location, timeout=10) as remote:
        return 200, {k.title(): v for k, v in remote.headers.items()}, remote.read()


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def send_with(user, room, attachments, body="", client_id=None):
    return services.message_send(
        sender=user, room_id=room.id, body=body, client_id=client_id, attachments=[a.id for a in attachments]
    )


# --- images ---------------------------------------------------------------------------------------


def test_jpeg_loses_its_gps_exif_in_what_is_stored_and_served(storage, room_of_two):
    room, alice, bob = room_of_two
    original = jpeg_with_gps()
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(GPS_IFD)  # the test file has GPS
    attachment = uploads.attachment_upload(
        uploader=alice, room_id=room.id, upload=upload("beach.jpg", original)
    )
    assert (attachment.kind, attachment.content_type, attachment.width, attachment.height) == (
        "image",
        "image/jpeg",
        64,
        48,
    )
    send_with(alice, room, [attachment])
    status, headers, served = fetch(logged_in(bob), f"/files/{attachment.id}/beach.jpg", storage)
    assert status == 200 and headers["Content-Type"] == "image/jpeg"
    assert headers["Content-Disposition"].startswith("inline")
    for data in (stored_bytes(attachment), served, stored_bytes(attachment, "thumbnail")):
        image = Image.open(io.BytesIO(data))
        assert not image.getexif(), "no EXIF at all (GPS, camera) may remain"
        assert b"PhoneMaker" not in data and b"Exif" not in data


def test_sideways_photo_is_stored_and_thumbnailed_upright(storage, room_of_two):
    room, alice, _ = room_of_two
    attachment = uploads.attachment_upload(
        uploader=alice, room_id=room.id, upload=upload("IMG_1.jpg", sideways_photo())
    )
    assert (attachment.width, attachment.height) == (20, 60)
    for field in ("file", "thumbnail"):
        image = Image.open(io.BytesIO(stored_bytes(attachment, field))).convert("RGB")
        assert image.size[1] > image.size[0]
        top, bottom = (
            image.getpixel((image.width // 2, 2)),
            image.getpixel((image.width // 2, image.height - 3)),
        )
        assert top[0] > 200 and top[2] < 60, f"red on top in the {field}"
        assert bottom[2] > 200 and bottom[0] < 60, f"blue below in the {field}"


def test_tiny_png_gets_a_thumbnail_of_its_own_size(storage, room_of_two):
    room, alice, _ = room_of_two
    attachment = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("dot.png", png()))
    assert (attachment.kind, attachment.width, attachment.height) == ("image", 1, 1)
    assert (attachment.thumb_width, attachment.thumb_height) == (1, 1)
    assert Image.open(io.BytesIO(stored_bytes(attachment, "thumbnail"))).format == "WEBP"


def test_big_image_thumbnail_fits_the_box_keeping_its_shape(room_of_two, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    room, alice, _ = room_of_two
    attachment = uploads.attachment_upload(
        uploader=alice, room_id=room.id, upload=upload("wide.png", png(size=(1200, 300)))
    )
    assert (attachment.thumb_width, attachment.thumb_height) == (480, 120)


def test_animated_gif_keeps_animating(storage, room_of_two):
    room, alice, _ = room_of_two
    attachment = uploads.attachment_upload(
        uploader=alice, room_id=room.id, upload=upload("party.gif", animated_gif(frames=3))
    )
    assert (attachment.kind, attachment.content_type) == ("image", "image/gif")
    stored = Image.open(io.BytesIO(stored_bytes(attachment)))
    thumbnail = Image.open(io.BytesIO(stored_bytes(attachment, "thumbnail")))
    assert stored.n_frames == 3 and thumbnail.n_frames == 3


def _gif_with_comment() -> bytes:
    frames = [Image.new("RGB", (20, 20), (i * 80, 0, 0)) for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, format="GIF", save_all=True, append_images=frames[1:], comment=b"SECRET", loop=0)
    return out.getvalue()


def _png_with_text() -> bytes:
    from PIL import PngImagePlugin

    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SECRET")
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="PNG", pnginfo=info)
    return out.getvalue()


def _webp_with_exif_and_xmp() -> bytes:
    exif = Image.Exif()
    exif[0x010F] = "SECRET"
    out = io.BytesIO()
    Image.new("RGB", (20, 20)).save(out, format="WEBP", exif=exif, xmp=b"<x:xmpmeta>SECRET</x:xmpmeta>")
    return out.getvalue()


@pytest.mark.parametrize("make", [_gif_with_comment, _png_with_text, _webp_with_exif_and_xmp])
def test_metadata_of_every_image_format_is_stripped(make):
    from messaging.media import inspect

    original = make()
    assert b"SECRET" in original
    found = inspect(io.BytesIO(original), max_pixels=10**6)
    assert found.is_image and b"SECRET" not in found.data and b"SECRET" not in found.thumbnail


def test_decompression_bomb_is_refused_and_nothing_stored(storage, room_of_two):
    room, alice, _ = room_of_two
    with pytest.raises(InvalidUpload, match="pixels"):
        uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("huge.png", png_bomb()))
    assert not Attachment.objects.exists()


def test_png_named_exe_is_an_image_named_for_what_it_is(storage, room_of_two):
    room, alice, bob = room_of_two
    attachment = uploads.attachment_upload(
        uploader=alice,
        room_id=room.id,
        upload=upload("setup.exe", png(size=(4, 4)), "application/x-msdownload"),
    )
    assert (attachment.kind, attachment.content_type, attachment.name) == (
        "image",
        "image/png",
        "setup.exe.png",
    )
    send_with(alice, room, [attachment])
    status, headers, _ = fetch(logged_in(bob), f"/files/{attachment.id}/x", storage)
    assert status == 200 and headers["Content-Type"] == "image/png"


def test_html_named_png_is_served_as_a_download_never_inline(storage, room_of_two):
    room, alice, bob = room_of_two
    page = b"<html><script>alert(document.cookie)</script></html>"
    attachment = uploads.attachment_upload(
        uploader=alice, room_id=room.id, upload=upload("cat.png", page, "image/png")
    )
    assert (attachment.kind, attachment.content_type) == ("file", "text/plain")
    assert attachment.name == "cat.png.txt"
    send_with(alice, room, [attachment])
    status, headers, served = fetch(logged_in(bob), attachment_url(attachment), storage)
    assert status == 200 and served == page
    assert headers["Content-Disposition"].startswith("attachment")
    assert headers["Content-Type"].startswith("text/plain")
    if storage == "local":  # S3 serves its own headers; the link itself forces the download
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "sandbox" in headers["Content-Security-Policy"]


def test_truncated_jpeg_is_kept_as_a_plain_file(storage, room_of_two):
    room, alice, _ = room_of_two
    cut = jpeg_with_gps(size=(400, 300))[:600]
    attachment = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("cut.jpg", cut))
    assert attachment.kind == "file" and attachment.content_type == "application/octet-stream"
    assert not attachment.thumbnail and stored_bytes(attachment) == cut


def attachment_url(attachment: Attachment) -> str:
    return f"/files/{attachment.id}/{attachment.name}"


# --- limits ---------------------------------------------------------------------------------------


def test_upload_limits(room_of_two, settings, tmp_path, make_user):
    settings.MEDIA_ROOT = tmp_path
    room, alice, _ = room_of_two
    settings.UPLOAD_MAX_BYTES = 100
    response = logged_in_api(alice).post(
        f"/api/rooms/{room.id}/attachments/", {"file": upload("big.bin", b"x" * 101)}, format="multipart"
    )
    assert response.status_code == 413 and response.json()["code"] == "invalid_upload"
    settings.UPLOAD_MAX_BYTES = 10_000
    settings.UPLOAD_RATE_LIMIT = 2
    statuses = [
        logged_in_api(alice)
        .post(f"/api/rooms/{room.id}/attachments/", {"file": upload("a.txt", b"hi")}, format="multipart")
        .status_code
        for _ in range(3)
    ]
    assert statuses == [201, 201, 429]
    with pytest.raises(RoomNotFound):
        uploads.attachment_upload(uploader=make_user(), room_id=room.id, upload=upload("a.txt", b"hi"))


def logged_in_api(user):
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    return client


def test_voice_message_length_is_measured_or_stated_and_limited(room_of_two, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    room, alice, _ = room_of_two
    ogg = uploads.attachment_upload(
        uploader=alice, room_id=room.id, upload=upload("voice.ogg", ogg_opus(4.5)), voice=True, duration=999
    )
    assert (ogg.kind, ogg.content_type, ogg.duration) == ("voice", "audio/ogg", 4.5)  # measured, not claimed
    webm = b"\x1aE\xdf\xa3" + b"\x00" * 2000
    voice = uploads.attachment_upload(
        uploader=alice, room_id=room.id, upload=upload("v.webm", webm), voice=True, duration="3.25"
    )
    assert (voice.kind, voice.content_type, voice.duration) == ("voice", "audio/webm", 3.25)
    with pytest.raises(InvalidUpload, match="at most 300 seconds"):
        uploads.attachment_upload(
            uploader=alice, room_id=room.id, upload=upload("long.ogg", ogg_opus(301)), voice=True
        )
    with pytest.raises(InvalidUpload, match="Opus audio"):
        uploads.attachment_upload(
            uploader=alice, room_id=room.id, upload=upload("v.webm", png()), voice=True, duration=2
        )
    with pytest.raises(InvalidUpload, match="larger than its duration"):
        uploads.attachment_upload(
            uploader=alice, room_id=room.id, upload=upload("v.webm", webm * 200), voice=True, duration=1
        )


def test_file_names_are_sanitised():
    from messaging.media import clean_name

    assert clean_name("../../etc/passwd", "text/plain") == "passwd.txt"
    assert clean_name("C:\\Users\\me\\report.pdf", "application/pdf") == "report.pdf"
    assert clean_name("evil\u202egnp.exe", "application/octet-stream") == "evilgnp.exe"
    assert clean_name('a<b>:"c|?*.zip', "application/zip") == "abc.zip"
    assert clean_name("...", "image/png") == "file.png"
    assert clean_name("photo.JPEG", "image/jpeg") == "photo.JPEG"
    assert len(clean_name("x" * 400 + ".pdf", "application/pdf")) == 150


# --- sending ----------------------------------------------------------------------------------


def test_send_with_attachments_and_no_caption(
    room_of_two, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.MEDIA_ROOT = tmp_path
    room, alice, _ = room_of_two
    image = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("a.png", png((8, 6))))
    doc = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("n.txt", b"notes"))
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        result = send_with(alice, room, [doc, image], client_id="c-1")
    assert scheduled_broadcasts(callbacks) == [("events_published", "message.new", None)]
    message = result.message
    assert message.body == "" and [a["id"] for a in message.attachments] == [doc.id, image.id]
    assert set(Attachment.objects.filter(message=message).values_list("id", flat=True)) == {doc.id, image.id}
    event = Event.objects.get(seq=result.seq)
    shown = event.payload["message"]["attachments"]
    assert shown[1] | {} == {
        "id": image.id,
        "kind": "image",
        "name": "a.png",
        "content_type": "image/png",
        "size": image.size,
        "width": 8,
        "height": 6,
        "thumb_width": 8,
        "thumb_height": 6,
        "duration": None,
        "url": f"/files/{image.id}/a.png",
        "thumbnail_url": f"/files/{image.id}/thumb/",
    }
    assert shown[0]["thumbnail_url"] is None and shown[0]["kind"] == "file"
    # The idempotent path is unchanged: a retry returns the original, claims nothing again.
    again = send_with(alice, room, [doc], client_id="c-1")
    assert not again.created and again.message.id == message.id


def test_attachments_a_message_cannot_carry(room_of_two, make_room, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    room, alice, bob = room_of_two
    mine = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("a.txt", b"a"))
    bobs = uploads.attachment_upload(uploader=bob, room_id=room.id, upload=upload("b.txt", b"b"))
    elsewhere_room = make_room(alice, name="Elsewhere")
    elsewhere = uploads.attachment_upload(
        uploader=alice, room_id=elsewhere_room.id, upload=upload("c.txt", b"c")
    )
    for bad in ([bobs], [elsewhere]):
        with pytest.raises(InvalidAttachments):
            send_with(alice, room, bad, body="hi")
    with pytest.raises(InvalidAttachments, match="twice"):
        services.message_send(sender=alice, room_id=room.id, body="x", attachments=[mine.id, mine.id])
    with pytest.raises(InvalidAttachments):
        services.message_send(sender=alice, room_id=room.id, body="x", attachments="12")
    settings.UPLOAD_MAX_PER_MESSAGE = 1
    with pytest.raises(InvalidAttachments, match="at most 1"):
        services.message_send(sender=alice, room_id=room.id, body="x", attachments=[mine.id, bobs.id])
    send_with(alice, room, [mine])
    with pytest.raises(InvalidAttachments):  # already sent with another message
        send_with(alice, room, [mine], body="again")
    with pytest.raises(InvalidMessage):  # no files, no text
        services.message_send(sender=alice, room_id=room.id, body="  ", attachments=[])
    assert Message.objects.count() == 1


def test_rest_upload_then_send(room_of_two, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    room, alice, _ = room_of_two
    client = logged_in_api(alice)
    made = client.post(
        f"/api/rooms/{room.id}/attachments/", {"file": upload("p.png", png((3, 2)))}, format="multipart"
    )
    assert made.status_code == 201
    assert made.json()["kind"] == "image" and made.json()["url"] == f"/files/{made.json()['id']}/p.png"
    sent = client.post(
        f"/api/rooms/{room.id}/messages/",
        {"attachments": [made.json()["id"]], "client_id": "r1"},
        format="json",
    )
    assert sent.status_code == 201 and sent.json()["attachments"] == [made.json()]
    refused = client.post(
        f"/api/rooms/{room.id}/messages/", {"attachments": [made.json()["id"]]}, format="json"
    )
    assert refused.status_code == 400 and "attachments" in refused.json()["fields"]
    empty = client.post(f"/api/rooms/{room.id}/messages/", {}, format="json")
    assert empty.status_code == 400 and "body" in empty.json()["fields"]


def test_composer_form_sends_attachments(room_of_two, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    room, alice, _ = room_of_two
    first = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("a.txt", b"a"))
    second = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("b.txt", b"b"))
    response = logged_in(alice).post(
        f"/r/{room.id}/send/", {"body": "", "attachments": [first.id, second.id]}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    message = Message.objects.get()
    assert [a["id"] for a in message.attachments] == [first.id, second.id]
    page = logged_in(alice).get(f"/r/{room.id}/").content.decode()
    assert f'href="/files/{first.id}/a.txt"' in page and "a.txt" in page


# --- access ---------------------------------------------------------------------------------------


def test_only_members_fetch_files_everyone_else_gets_the_same_404(storage, room_of_two, make_user):
    room, alice, bob = room_of_two
    image = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("a.png", png((9, 9))))
    unsent = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("b.png", png((9, 9))))
    send_with(alice, room, [image])
    stranger = make_user()
    missing = Client().get("/files/999999/a.png")
    assert missing.status_code == 404
    for client, url in [
        (logged_in(stranger), f"/files/{image.id}/a.png"),
        (logged_in(stranger), f"/files/{image.id}/thumb/"),
        (Client(), f"/files/{image.id}/a.png"),  # logged out
        (logged_in(bob), f"/files/{unsent.id}/b.png"),  # not sent yet: the uploader's alone
        (logged_in(alice), "/files/999999/a.png"),
    ]:
        response = client.get(url)
        assert response.status_code == 404 and response.content == missing.content
    for client, url in [
        (logged_in(bob), f"/files/{image.id}/a.png"),
        (logged_in(bob), f"/files/{image.id}/thumb/"),
        (logged_in(alice), f"/files/{unsent.id}/b.png"),
    ]:
        status, _, data = fetch(client, url, storage)
        assert status == 200 and Image.open(io.BytesIO(data)).size == (9, 9)


def test_api_clients_fetch_files_with_their_token(room_of_two, settings, tmp_path, make_user):
    from rest_framework_simplejwt.tokens import AccessToken

    settings.MEDIA_ROOT = tmp_path
    room, alice, bob = room_of_two
    doc = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("n.txt", b"notes"))
    send_with(alice, room, [doc])
    ok = Client().get(attachment_url(doc), HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(bob)}")
    assert ok.status_code == 200 and b"".join(ok.streaming_content) == b"notes"
    other = Client().get(
        attachment_url(doc), HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(make_user())}"
    )
    bogus = Client().get(attachment_url(doc), HTTP_AUTHORIZATION="Bearer nonsense")
    assert other.status_code == bogus.status_code == 404


# --- removal --------------------------------------------------------------------------------------


def test_deleting_the_message_deletes_its_files_after_commit(
    storage, room_of_two, django_capture_on_commit_callbacks
):
    room, alice, bob = room_of_two
    image = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("a.png", png((5, 5))))
    message = send_with(alice, room, [image], body="look").message
    names = [image.file.name, image.thumbnail.name]
    default = storages["default"]
    assert all(default.exists(name) for name in names)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        changes.message_delete(actor=alice, message_id=message.id, via="api")
    assert all(default.exists(name) for name in names), "nothing leaves storage before the commit"
    for callback in callbacks:
        callback()
    assert not any(default.exists(name) for name in names)
    assert not Attachment.objects.exists()
    message.refresh_from_db()
    assert message.attachments == []
    assert all(e.payload["message"]["attachments"] == [] for e in Event.objects.filter(object_id=message.id))
    assert logged_in(bob).get(f"/files/{image.id}/a.png").status_code == 404


def test_cleanup_uploads_removes_only_abandoned_unsent_uploads(
    storage, room_of_two, settings, django_capture_on_commit_callbacks
):
    room, alice, _ = room_of_two
    old = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("old.txt", b"o"))
    fresh = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("new.txt", b"n"))
    sent = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("sent.txt", b"s"))
    send_with(alice, room, [sent])
    long_ago = timezone.now() - timedelta(hours=settings.UPLOAD_ABANDONED_HOURS + 1)
    Attachment.objects.filter(pk__in=[old.id, sent.id]).update(created_at=long_ago)
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):  # files go once the delete commits
        call_command("cleanup_uploads", stdout=out)
    assert "1 abandoned upload" in out.getvalue()
    assert set(Attachment.objects.values_list("id", flat=True)) == {fresh.id, sent.id}
    default = storages["default"]
    assert not default.exists(old.file.name)
    assert default.exists(fresh.file.name) and default.exists(sent.file.name)


def test_cleanup_uploads_removes_stored_files_no_upload_names_once_old(
    storage, room_of_two, django_capture_on_commit_callbacks
):
    """A server killed between storing an upload's file and saving its row leaves the file;
    the sweep removes it once it is as old as an abandoned upload, never a file a row names."""
    room, alice, _ = room_of_two
    kept = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("kept.png", png((4, 4))))
    send_with(alice, room, [kept])
    default = storages["default"]
    left = default.save(f"attachments/{room.id}/{'a' * 32}/original.png", ContentFile(png((4, 4))))
    out = io.StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_uploads", stdout=out)  # 24 h: it may be an upload in progress
    assert "0 orphaned files" in out.getvalue() and default.exists(left)
    with django_capture_on_commit_callbacks(execute=True):
        call_command("cleanup_uploads", "--hours", "0", stdout=out)
    assert "1 orphaned file " in out.getvalue()
    assert not default.exists(left)
    assert default.exists(kept.file.name) and default.exists(kept.thumbnail.name)


def test_message_admin_lists_its_attachments_read_only(room_of_two, settings, tmp_path, make_user):
    settings.MEDIA_ROOT = tmp_path
    room, alice, _ = room_of_two
    doc = uploads.attachment_upload(uploader=alice, room_id=room.id, upload=upload("minutes.txt", b"m"))
    message = send_with(alice, room, [doc], body="notes").message
    page = logged_in(make_user("root", is_staff=True, is_superuser=True)).get(
        f"/admin/messaging/message/{message.id}/change/"
    )
    assert page.status_code == 200
    html = page.content.decode()
    assert "minutes.txt" in html and "text/plain" in html
    assert 'name="attachment_rows-0-kind"' not in html  # shown, not editable


@pytest.mark.server
def test_thumbnailing_a_12_megapixel_photo_never_stalls_the_sockets(start_server, room_of_two, tmp_path):
    """The image work runs in the upload request's worker thread, never on the event loop: a
    socket's pings keep being answered at once while a 12-megapixel photo is processed."""
    import asyncio
    import json
    import urllib.request
    import uuid

    import websockets
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.services import ws_ticket_issue

    room, alice, bob = room_of_two
    server = start_server(extra_env={"MEDIA_ROOT": str(tmp_path)})
    photo = io.BytesIO()
    Image.effect_noise((4000, 3000), 40).convert("RGB").save(photo, format="JPEG", quality=85)
    token, ticket = str(AccessToken.for_user(alice)), ws_ticket_issue(user=bob)
    boundary = uuid.uuid4().hex
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.jpg"\r\n'
            "Content-Type: image/jpeg\r\n\r\n"
        ).encode()
        + photo.getvalue()
        + f"\r\n--{boundary}--\r\n".encode()
    )

    def upload() -> tuple[int, dict, float]:
        request = urllib.request.Request(
            f"{server.url}/api/rooms/{room.id}/attachments/",
            data=body,
            method="POST",
            headers={
                "Authorization": f"Bearer {token}",
                "Content-Type": f"multipart/form-data; boundary={boundary}",
            },
        )
        started = time.monotonic()
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read()), time.monotonic() - started

    async def scenario() -> tuple[tuple[int, dict, float], float, int]:
        async with websockets.connect(f"{server.ws_url}/ws/?ticket={ticket}") as ws:
            await ws.recv()  # hello
            uploading = asyncio.create_task(asyncio.to_thread(upload))
            worst, ref = 0.0, 0
            while not uploading.done():
                ref += 1
                sent = time.monotonic()
                await ws.send(json.dumps({"type": "ping", "ref": ref}))
                while json.loads(await asyncio.wait_for(ws.recv(), 10)) != {"type": "pong", "ref": ref}:
                    pass
                worst = max(worst, time.monotonic() - sent)
                await asyncio.sleep(0.02)
            return await uploading, worst, ref

    (status, made, _), worst, pings = asyncio.run(scenario())
    assert status == 201 and (made["width"], made["height"], made["thumb_width"]) == (4000, 3000, 480)
    assert pings >= 5, "the pings must overlap the upload's processing"
    assert worst < 0.4, f"a ping waited {worst:.2f} s while the photo was processed"
