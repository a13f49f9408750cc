"""What an uploaded file is, decided from its bytes, and the image work done on it (Pillow).

Nothing here trusts the file's name or the Content-Type the client sent. Images of the four
formats browsers show (JPEG, PNG, GIF, WebP) are decoded, turned upright (EXIF orientation) and
encoded again without their metadata (EXIF, GPS, XMP, comments), so what is stored and served
carries none; each gets a WebP thumbnail (animated when the image is). An image over the pixel
limit is refused before it is decoded; one Pillow cannot decode is kept as a plain file.
CPU-heavy: called from upload requests (a worker thread), never from the event loop.
"""

from __future__ import annotations

import io
import re
import struct
import unicodedata
import warnings
from dataclasses import dataclass
from typing import IO

from PIL import Image, ImageOps, ImageSequence

from messaging.exceptions import InvalidUpload

IMAGE_FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}
THUMB_BOX = (480, 360)
THUMB_QUALITY = 80
MAX_FRAMES = 300  # an animation with more frames keeps a still thumbnail

# Magic numbers of the common files that are not images; anything else is text (valid UTF-8
# without NUL) or opaque bytes. The type only labels the download: files are never shown inline.
_MAGIC: tuple[tuple[bytes, int, str], ...] = (
    (b"%PDF-", 0, "application/pdf"),
    (b"PK\x03\x04", 0, "application/zip"),
    (b"\x1f\x8b", 0, "application/gzip"),
    (b"OggS", 0, "audio/ogg"),
    (b"\x1aE\xdf\xa3", 0, "audio/webm"),
    (b"ID3", 0, "audio/mpeg"),
    (b"fLaC", 0, "audio/flac"),
    (b"ftyp", 4, "video/mp4"),
    (b"7z\xbc\xaf\x27\x1c", 0, "application/x-7z-compressed"),
)
EXTENSIONS = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
    "application/zip": ".zip",
    "application/gzip": ".gz",
    "audio/ogg": ".ogg",
    "audio/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/flac": ".flac",
    "video/mp4": ".mp4",
    "text/plain": ".txt",
}
VOICE_TYPES = {"audio/webm", "audio/ogg"}
NAME_MAX = 150


@dataclass(frozen=True)
class Inspected:
    content_type: str
    data: bytes | None = None  # the bytes to store instead of the upload's (a cleaned image)
    width: int | None = None
    height: int | None = None
    thumbnail: bytes | None = None
    thumb_width: int | None = None
    thumb_height: int | None = None

    @property
    def is_image(self) -> bool:
        return self.data is not None


def sniff(head: bytes) -> str:
    """The content type of a file that is not a (readable) image, from its first bytes."""
    for magic, offset, content_type in _MAGIC:
        if head[offset : offset + len(magic)] == magic:
            return content_type
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "audio/wav"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
            return "text/plain"
        except UnicodeDecodeError as exc:
            if exc.start >= len(head) - 3:  # a character cut by the end of the sample
                return "text/plain"
    return "application/octet-stream"


def inspect(stream: IO[bytes], *, max_pixels: int) -> Inspected:
    """What the file is, and for a readable image its cleaned bytes and thumbnail.

    Raises InvalidUpload for an image over ``max_pixels`` (a decompression bomb)."""
    stream.seek(0)
    head = stream.read(4096)
    stream.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream, formats=list(IMAGE_FORMATS))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _too_many_pixels(max_pixels) from None
    except (OSError, SyntaxError, ValueError, struct.error, EOFError):
        return Inspected(content_type=sniff(head))
    with image:
        width, height = image.size
        if width * height > max_pixels:
            raise _too_many_pixels(max_pixels)
        frames = getattr(image, "n_frames", 1)
        if frames > 1 and width * height * min(frames, MAX_FRAMES) > 4 * max_pixels:
            raise _too_many_pixels(max_pixels)
        try:
            return _clean_image(image)
        except (OSError, SyntaxError, ValueError, struct.error, EOFError):
            # Truncated or corrupt beyond the header: kept as the bytes it is, never shown.
            return Inspected(content_type=sniff(head))


def _too_many_pixels(max_pixels: int) -> InvalidUpload:
    return InvalidUpload(f"Images may have at most {max_pixels:,} pixels.", field="file")


def _clean_image(image: Image.Image) -> Inspected:
    fmt = image.format or "PNG"
    animated = getattr(image, "n_frames", 1) > 1
    out = io.BytesIO()
    if animated:
        frames = [frame.copy() for frame in ImageSequence.Iterator(image)]
        durations = [frame.info.get("duration", 100) for frame in frames]
        first = frames[0]
        first.info = {}
        extra = {"disposal": 2} if fmt == "GIF" else {}
        first.save(
            out,
            format=fmt,
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=image.info.get("loop", 0),
            **extra,
        )
        stills = frames if len(frames) <= MAX_FRAMES else frames[:1]
        thumb, thumb_size = _thumbnail(stills, durations)
        width, height = image.size
    else:
        upright = ImageOps.exif_transpose(image)  # a copy, with the orientation applied
        upright.info = {}
        options: dict = {"quality": 90} if fmt in ("JPEG", "WEBP") else {}
        if icc := image.info.get("icc_profile"):  # colour, not metadata about anyone: kept
            options["icc_profile"] = icc
        if fmt == "JPEG" and upright.mode not in ("RGB", "L", "CMYK"):
            upright = upright.convert("RGB")
        upright.save(out, format=fmt, **options)
        thumb, thumb_size = _thumbnail([upright], [0])
        width, height = upright.size
    return Inspected(
        content_type=IMAGE_FORMATS[fmt],
        data=out.getvalue(),
        width=width,
        height=height,
        thumbnail=thumb,
        thumb_width=thumb_size[0],
        thumb_height=thumb_size[1],
    )


def _thumbnail(frames: list[Image.Image], durations: list[int]) -> tuple[bytes, tuple[int, int]]:
    smalls = []
    for frame in frames:
        small = frame.convert("RGBA") if frame.mode not in ("RGB", "RGBA") else frame.copy()
        small.thumbnail(THUMB_BOX)
        small.info = {}
        smalls.append(small)
    out = io.BytesIO()
    if len(smalls) > 1:
        smalls[0].save(
            out,
            format="WEBP",
            save_all=True,
            append_images=smalls[1:],
            duration=durations[: len(smalls)],
            loop=0,
            quality=THUMB_QUALITY,
        )
    else:
        smalls[0].save(out, format="WEBP", quality=THUMB_QUALITY)
    return out.getvalue(), smalls[0].size


def ogg_duration(stream: IO[bytes]) -> float | None:
    """Length in seconds of an Ogg Opus stream: the last page's granule position at 48 kHz
    (Opus always counts at 48 kHz), less the pre-skip. None if it is not one."""
    stream.seek(0)
    head = stream.read(4096)
    if not head.startswith(b"OggS") or b"OpusHead" not in head:
        return None
    at = head.index(b"OpusHead")
    pre_skip = struct.unpack_from("<H", head, at + 10)[0] if len(head) >= at + 12 else 0
    stream.seek(0, io.SEEK_END)
    size = stream.tell()
    stream.seek(max(0, size - 65536))
    tail = stream.read()
    last = tail.rfind(b"OggS")
    if last < 0 or len(tail) < last + 14:
        return None
    granule = struct.unpack_from("<q", tail, last + 6)[0]
    return max(0.0, (granule - pre_skip) / 48000)


_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"/\\|?*\u200b-\u200f\u202a-\u202e\u2066-\u2069]')


def clean_name(name: object, content_type: str) -> str:
    """A file name safe to store, show and send in Content-Disposition: its last path part,
    without control, bidi-override or reserved characters, at most NAME_MAX characters, ending
    in the extension of the type found (``photo.exe`` holding a PNG becomes ``photo.exe.png``)."""
    text = unicodedata.normalize("NFC", name if isinstance(name, str) else "")
    text = re.split(r"[/\\]", text)[-1]
    text = " ".join(_UNSAFE.sub("", text).split()).strip(" .")
    extension = EXTENSIONS.get(content_type, "")
    if (
        extension
        and not text.lower().endswith(extension)
        and not (extension == ".jpg" and text.lower().endswith(".jpeg"))
    ):
        text = f"{text}{extension}" if text else ""
    if not text:
        text = "file" + extension
    if len(text) > NAME_MAX:
        stem, dot, ext = text.rpartition(".")
        ext = ext[:16] if dot else ""
        text = (stem if dot else text)[: NAME_MAX - len(ext) - 1].rstrip(" .") + ("." + ext if ext else "")
    return text
