"""Avatar pictures: what an upload becomes before it is stored.

An upload is refused unless Pillow reads it as an image of at most AVATAR_MAX_PIXELS (checked
from its header, before any pixel is decoded: a 50-megapixel picture, or a small file that
claims to be one, is refused without being expanded in memory). What is kept is new pixels, not
the upload: turned upright by its EXIF orientation, cropped to the centre square, resized to
AVATAR_SIZE with Lanczos and written afresh as WebP, so no EXIF (GPS, camera), ICC profile or
comment survives, and no bytes of the original are ever served.
"""

from __future__ import annotations

import io
from typing import IO

from PIL import Image, ImageOps, UnidentifiedImageError

from accounts.exceptions import InvalidAvatar

AVATAR_SIZE = 256
AVATAR_MAX_BYTES = 10 * 1024 * 1024
AVATAR_MAX_PIXELS = 40_000_000
AVATAR_FORMATS = ("JPEG", "PNG", "GIF", "WEBP")


def avatar_image(upload: IO[bytes]) -> bytes:
    """The stored avatar (WebP, AVATAR_SIZE square) made from ``upload``; InvalidAvatar if it is
    not an image Parley takes."""
    data = upload.read(AVATAR_MAX_BYTES + 1)
    if len(data) > AVATAR_MAX_BYTES:
        raise InvalidAvatar(f"The picture is larger than {AVATAR_MAX_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(data), formats=AVATAR_FORMATS) as picture:
            width, height = picture.size
            if width * height > AVATAR_MAX_PIXELS:
                raise InvalidAvatar(
                    f"The picture is {width}×{height} pixels; at most {AVATAR_MAX_PIXELS // 1_000_000} "
                    "megapixels are taken."
                )
            picture.load()
            upright = ImageOps.exif_transpose(picture)
            square = ImageOps.fit(
                upright.convert("RGBA"), (AVATAR_SIZE, AVATAR_SIZE), method=Image.Resampling.LANCZOS
            )
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError):
        raise InvalidAvatar("That file is not a picture (JPEG, PNG, GIF or WebP).") from None
    out = io.BytesIO()
    square.save(out, format="WEBP", quality=85)
    return out.getvalue()
