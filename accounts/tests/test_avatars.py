import io

import pytest
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
