import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from PIL import Image

from accounts.avatars import AVATAR_SIZE, avatar_image
from accounts.exceptions import InvalidAvatar


def encoded(picture: Image.Image, fmt: str, **options) -> io.BytesIO:
    out = io.BytesIO()
    picture.save(out, format=fmt, **options)
    out.seek(0)
    return out


def test_a_photo_becomes_an_upright_centred_square_without_its_metadata():
    # 400×200, landscape: red | green (centre) | red; stored as if the camera was turned
    # (orientation 6: shown rotated 90° clockwise) and carrying a camera make and GPS data.
    photo = Image.new("RGB", (400, 200), "red")
    photo.paste((0, 160, 0), (100, 0, 300, 200))
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation
    exif[0x010F] = "SpyCam"  # Make
    exif[0x8825] = {1: "N", 2: (51.0, 30.0, 0.0)}  # GPS
    stored = Image.open(io.BytesIO(avatar_image(encoded(photo, "JPEG", exif=exif, quality=95))))
    assert stored.format == "WEBP"
    assert stored.size == (AVATAR_SIZE, AVATAR_SIZE)
    assert not stored.getexif()
    assert not {"exif", "icc_profile", "xmp"} & set(stored.info)
    # Upright it is 200×400 (portrait); its centre square is all green.
    for x, y in ((5, 5), (128, 128), (250, 250)):
        r, g, b = stored.convert("RGB").getpixel((x, y))
        assert g > 120 and r < 60, (x, y, (r, g, b))


@pytest.mark.parametrize(
    "upload",
    [b"", b"hello, not a picture", b"%PDF-1.4\n1 0 obj<<>>endobj", b"\x89PNG\r\n\x1a\n" + b"\x00" * 40],
)
def test_what_is_not_a_picture_is_refused_clearly(upload):
    with pytest.raises(InvalidAvatar) as refused:
        avatar_image(io.BytesIO(upload))
    assert "not a picture" in refused.value.detail
    assert refused.value.field == "avatar"


def test_a_50_megapixel_picture_is_refused_before_it_is_decoded():
    huge = encoded(Image.new("1", (10_000, 5_000)), "PNG")  # 50 MP, a small file
    assert huge.getbuffer().nbytes < 1_000_000
    with pytest.raises(InvalidAvatar) as refused:
        avatar_image(huge)
    assert "10000×5000" in refused.value.detail


# --- through the interfaces -----------------------------------------------------------------


@pytest.fixture
def storage(settings, tmp_path):
    """Uploads go to a temporary directory (the default storage, as in production)."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path)},
        },
    }
    return tmp_path


def upload(name: str, data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type="application/octet-stream")


@pytest.mark.django_db(transaction=True)  # the old file is deleted after commit
def test_avatar_over_rest_set_served_replaced_and_removed(auth_api, make_user, storage):
    user = make_user("ann")
    client = auth_api(user)
    photo = encoded(Image.new("RGB", (640, 480), "navy"), "JPEG").getvalue()
    answer = client.put("/api/auth/me/avatar/", {"avatar": upload("me.jpg", photo)}, format="multipart")
    assert answer.status_code == 200
    url = answer.json()["avatar"]
    assert url.startswith(f"/avatars/{user.id}/") and url.endswith(".webp")
    served = Client()
    served.force_login(make_user("ben"))
    picture = served.get(url)
    assert picture.status_code == 200 and picture["Content-Type"] == "image/webp"
    assert Image.open(io.BytesIO(b"".join(picture.streaming_content))).size == (AVATAR_SIZE, AVATAR_SIZE)
    assert Client().get(url).status_code == 302  # to log in first

    second = client.put(
        "/api/auth/me/avatar/",
        {"avatar": upload("b.png", encoded(Image.new("RGB", (50, 50)), "PNG").getvalue())},
        format="multipart",
    )
    assert second.json()["avatar"] != url
    assert served.get(url).status_code == 404  # the old picture is gone, from storage too
    assert len(list((storage / "avatars" / str(user.id)).iterdir())) == 1

    assert client.delete("/api/auth/me/avatar/").status_code == 204
    assert client.get("/api/auth/me/").json()["avatar"] == ""
    assert not list((storage / "avatars" / str(user.id)).iterdir())


@pytest.mark.django_db
def test_bad_avatars_over_rest_and_the_web_are_refused_and_store_nothing(auth_api, make_user, storage):
    user = make_user("ann")
    huge = encoded(Image.new("1", (10_000, 5_000)), "PNG").getvalue()
    for data, message in ((b"just text", "not a picture"), (huge, "megapixels")):
        refused = auth_api(user).put(
            "/api/auth/me/avatar/", {"avatar": upload("x.png", data)}, format="multipart"
        )
        assert refused.status_code == 400
        assert message in str(refused.json()["fields"]["avatar"])
        web = Client()
        web.force_login(user)
        page = web.post("/account/avatar/", {"avatar": upload("x.png", data)})
        assert page.status_code == 400
        assert message in page.content.decode()
        assert b'id="id_avatar_error"' in page.content
    user.refresh_from_db()
    assert user.avatar == ""
    assert not (storage / "avatars").exists()


@pytest.mark.django_db
def test_the_default_picture_is_initials_on_a_colour_and_a_picture_shows_where_the_name_does(
    make_user, make_room, storage
):
    ann = make_user("ann", display_name="Ann Smith")
    room = make_room(ann)
    web = Client()
    web.force_login(ann)
    members = web.get(f"/rooms/{room.id}/members/").content.decode()
    assert f"avatar-initials avatar-c{ann.avatar_colour}" in members and ">AS</span>" in members
    photo = encoded(Image.new("RGB", (300, 300), "teal"), "PNG").getvalue()
    assert web.post("/account/avatar/", {"avatar": upload("me.png", photo)}).status_code == 302
    ann.refresh_from_db()
    for page in (web.get(f"/rooms/{room.id}/members/"), web.get(f"/r/{room.id}/"), web.get("/account/")):
        assert f'src="{ann.avatar_url}"' in page.content.decode()
    assert web.post("/account/avatar/", {"remove": "1"}).status_code == 302
    ann.refresh_from_db()
    assert ann.avatar == ""
