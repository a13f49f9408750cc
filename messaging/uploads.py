"""Every state change of attachments: upload, claim by a message, removal.

A file is uploaded to a room first (private to its uploader until sent), then a message claims
it (``message_send`` with attachment ids, under the send's lock and transaction). Deleting the
message deletes its files from storage once the delete has committed; uploads never sent are
removed by ``manage.py cleanup_uploads`` after UPLOAD_ABANDONED_HOURS.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import storages
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from chatsite import ratelimit
from chatsite.validation import InvalidNumber, parse_id
from messaging import media, processing
from messaging.exceptions import InvalidAttachments, InvalidUpload, UploadRateLimited, UploadTooLarge
from messaging.models import Attachment, Message
from rooms.selectors import membership_get

logger = logging.getLogger(__name__)


def attachment_summary(attachment: Attachment) -> dict[str, Any]:
    """What a message keeps of one attachment (``Message.attachments``); URLs are added when a
    payload is built (``serialization.attachment_payload``)."""
    return {
        "id": attachment.id,
        "kind": attachment.kind,
        "name": attachment.name,
        "content_type": attachment.content_type,
        "size": attachment.size,
        "width": attachment.width,
        "height": attachment.height,
        "thumb_width": attachment.thumb_width,
        "thumb_height": attachment.thumb_height,
        "duration": attachment.duration,
        "has_thumbnail": bool(attachment.thumbnail),
    }


def upload_rate_take(*, user_id: int) -> bool:
    return bool(
        ratelimit.take(
            f"upload:{user_id}", limit=settings.UPLOAD_RATE_LIMIT, window=settings.UPLOAD_RATE_WINDOW
        )
    )


def _clean_duration(value: object) -> float | None:
    if value is None or value == "":
        return None
    try:
        seconds = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidUpload("duration must be a number of seconds.", field="duration") from None
    if not 0 < seconds <= settings.VOICE_MAX_SECONDS:
        raise InvalidUpload(
            f"A voice message may last at most {settings.VOICE_MAX_SECONDS} seconds.", field="duration"
        )
    return round(seconds, 2)


# Opus voice is ~32-128 kbit/s; a file far bigger than its stated length could hold is refused.
VOICE_MAX_BYTES_PER_SECOND = 64 * 1024


def _voice(stream: IO[bytes], content_type: str, size: int, duration: object) -> float:
    if content_type not in media.VOICE_TYPES:
        raise InvalidUpload("A voice message must be Opus audio in WebM or Ogg.", field="file")
    measured = media.ogg_duration(stream) if content_type == "audio/ogg" else None
    seconds = _clean_duration(measured if measured is not None else duration)
    if seconds is None:
        raise InvalidUpload("A voice message needs its duration in seconds.", field="duration")
    if size > (seconds + 1) * VOICE_MAX_BYTES_PER_SECOND:
        raise InvalidUpload("This recording is larger than its duration allows.", field="file")
    return seconds


def attachment_upload(
    *, uploader: User, room_id: int, upload: File, voice: bool = False, duration: object = None
) -> Attachment:
    """Store a file for the uploader's next message in a room they are a member of.

    The type is decided from the content: an image is stored cleaned (upright, no metadata)
    with a WebP thumbnail; ``voice`` asks for a voice message (Opus in WebM or Ogg, at most
    VOICE_MAX_SECONDS; the length is measured for Ogg, taken from ``duration`` for WebM).
    Raises RoomNotFound for a room the uploader is not in, UploadTooLarge past UPLOAD_MAX_BYTES,
    InvalidUpload (a bomb, a bad voice message), UploadRateLimited past the upload budget.
    Nothing is broadcast: the upload is the uploader's alone until a message carries it."""
    membership_get(user=uploader, room_id=room_id)
    if upload.size is None or upload.size > settings.UPLOAD_MAX_BYTES:
        limit = settings.UPLOAD_MAX_BYTES / (1024 * 1024)
        raise UploadTooLarge(f"Files may be at most {limit:g} MB.")
    if upload.size == 0:
        raise InvalidUpload("The file is empty.", field="file")
    if not upload_rate_take(user_id=uploader.id):
        raise UploadRateLimited(retry_after=settings.UPLOAD_RATE_WINDOW)
    upload.seek(0)
    found = processing.inspect(upload.read(), max_pixels=settings.UPLOAD_MAX_PIXELS)
    kind = Attachment.Kind.IMAGE if found.is_image else Attachment.Kind.FILE
    seconds = None
    if voice:
        kind, seconds = Attachment.Kind.VOICE, _voice(upload, found.content_type, upload.size, duration)
    attachment = Attachment(
        uploader=uploader,
        room_id=room_id,
        kind=kind,
        name=media.clean_name(upload.name, found.content_type),
        content_type=found.content_type,
        size=len(found.data) if found.data is not None else upload.size,
        width=found.width,
        height=found.height,
        thumb_width=found.thumb_width,
        thumb_height=found.thumb_height,
        duration=seconds,
    )
    extension = media.EXTENSIONS.get(found.content_type, "")
    upload.seek(0)
    attachment.file.save(
        f"original{extension}", ContentFile(found.data) if found.data is not None else upload, save=False
    )
    try:
        if found.thumbnail is not None:
            attachment.thumbnail.save("thumb.webp", ContentFile(found.thumbnail), save=False)
        with transaction.atomic():
            attachment.save()
    except BaseException:
        files_delete(_stored_names([attachment]))  # nothing half-written: no row, no file
        raise
    return attachment


def clean_attachment_ids(value: object) -> list[int]:
    """A message's attachment ids as sent (a list of distinct ids, at most UPLOAD_MAX_PER_MESSAGE)."""
    if value is None or value == "":
        return []
    if not isinstance(value, list | tuple):
        raise InvalidAttachments("attachments must be a list of ids.", field="attachments")
    if len(value) > settings.UPLOAD_MAX_PER_MESSAGE:
        raise InvalidAttachments(
            f"A message may carry at most {settings.UPLOAD_MAX_PER_MESSAGE} files.", field="attachments"
        )
    try:
        ids = [parse_id(item, label="attachment", minimum=1) for item in value]
    except InvalidNumber:
        raise InvalidAttachments(field="attachments") from None
    if len(set(ids)) != len(ids):
        raise InvalidAttachments("An attachment is listed twice.", field="attachments")
    return ids


def attachments_lock(ids: Iterable[int]) -> dict[int, Attachment]:
    """The attachments with these ids, locked for the send claiming them (in its transaction)."""
    ids = set(ids)
    if not ids:
        return {}
    return Attachment.objects.select_for_update().in_bulk(ids)


def attachments_claimable(
    *, found: dict[int, Attachment], ids: Sequence[int], sender_id: int, room_id: int
) -> list[Attachment] | None:
    """The attachments, in the order given, if the sender may attach them all to a message in
    this room (their own uploads there, not sent yet); else None."""
    chosen = [found.get(i) for i in ids]
    for attachment in chosen:
        if (
            attachment is None
            or attachment.uploader_id != sender_id
            or attachment.room_id != room_id
            or attachment.message_id is not None
        ):
            return None
    return chosen  # type: ignore[return-value]


def attachments_claim(*, message: Message, attachments: Sequence[Attachment]) -> None:
    """Attach locked, claimable uploads to a message just written (in its transaction)."""
    for attachment in attachments:
        attachment.message = message
    Attachment.objects.filter(pk__in=[a.id for a in attachments]).update(message=message)


def _stored_names(attachments: Iterable[Attachment]) -> list[str]:
    return [f.name for a in attachments for f in (a.file, a.thumbnail) if f and f.name]


def files_delete(names: Iterable[str]) -> None:
    """Remove stored files (best effort: a file that is already gone is no error)."""
    storage = storages["default"]
    for name in names:
        try:
            storage.delete(name)
        except Exception:
            logger.exception("could not delete stored file %s", name)


def attachments_remove(*, message: Message) -> None:
    """Delete a message's attachments (in the caller's transaction) and, once it commits,
    their files from storage."""
    rows = list(Attachment.objects.filter(message=message))
    if not rows:
        return
    names = _stored_names(rows)
    Attachment.objects.filter(pk__in=[a.id for a in rows]).delete()
    transaction.on_commit(lambda: files_delete(names))


@transaction.atomic
def uploads_abandoned_delete(*, older_than_hours: int | None = None) -> int:
    """Delete uploads never attached to a message, older than ``older_than_hours``
    (UPLOAD_ABANDONED_HOURS by default), and their files once that commits. Returns how many."""
    hours = settings.UPLOAD_ABANDONED_HOURS if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    rows = list(Attachment.objects.select_for_update().filter(message=None, created_at__lt=cutoff))
    names = _stored_names(rows)
    Attachment.objects.filter(pk__in=[a.id for a in rows]).delete()
    transaction.on_commit(lambda: files_delete(names))
    return len(rows)


def files_orphaned_delete(*, older_than_hours: int | None = None) -> int:
    """Delete stored files no attachment names, older than ``older_than_hours``
    (UPLOAD_ABANDONED_HOURS by default); returns how many. A server process killed between
    storing an upload's file and saving its row leaves such a file (an upload that fails
    otherwise removes its own), as does a database restored from an older backup. The age
    keeps an upload in progress (file stored, row not yet committed) out of reach."""
    hours = settings.UPLOAD_ABANDONED_HOURS if older_than_hours is None else older_than_hours
    cutoff = timezone.now() - timedelta(hours=hours)
    storage = storages["default"]
    try:
        room_folders, _ = storage.listdir("attachments")
    except FileNotFoundError:  # local disk before the first upload
        return 0
    removed = 0
    for room_folder in room_folders:
        if not room_folder.isdigit():
            continue
        known = set(_stored_names(Attachment.objects.filter(room_id=int(room_folder))))
        upload_folders, _ = storage.listdir(f"attachments/{room_folder}")
        for folder in upload_folders:
            _, files = storage.listdir(f"attachments/{room_folder}/{folder}")
            for file in files:
                name = f"attachments/{room_folder}/{folder}/{file}"
                if name not in known and storage.get_modified_time(name) < cutoff:
                    files_delete([name])
                    removed += 1
    return removed
