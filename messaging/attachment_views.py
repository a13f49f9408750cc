"""The one way to fetch an uploaded file: through our own URL, which checks access every time.

Only members of the file's room (and, before it is sent, only its uploader) get it; anyone
else — a non-member, a logged-out visitor, a guessed id — gets the same 404 as a file that does
not exist. Files on local disk are streamed from here; on S3 the answer is a redirect to a
presigned URL valid for UPLOAD_URL_SECONDS, so no stored event ever holds a link that expires.
Only images and voice recordings of the types browsers merely display are served inline; any
other file is a download, with ``nosniff`` and a sandboxing CSP, so nothing uploaded can run as
a page of this site.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.http import content_disposition_header
from django.views.decorators.http import require_safe
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError

from messaging import selectors
from messaging.exceptions import AttachmentNotFound
from messaging.models import Attachment

INLINE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "audio/webm", "audio/ogg"}
SANDBOX_CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def _viewer(request: HttpRequest):
    """The logged-in user (session), or an API client's (JWT bearer token), or None."""
    if request.user.is_authenticated:
        return request.user
    try:
        found = JWTAuthentication().authenticate(Request(request))
    except (APIException, TokenError):
        return None
    return found[0] if found else None


def _attachment(request: HttpRequest, attachment_id: int) -> Attachment:
    user = _viewer(request)
    if user is None:
        raise Http404()
    try:
        return selectors.attachment_for_download(user=user, attachment_id=attachment_id)
    except AttachmentNotFound:
        raise Http404() from None


def _serve(stored: FieldFile, *, content_type: str, filename: str, inline: bool) -> HttpResponse:
    disposition = content_disposition_header(as_attachment=not inline, filename=filename)
    try:
        stored.storage.path(stored.name)
    except NotImplementedError:  # not on this machine's disk (S3): a short-lived signed link
        url = stored.storage.url(
            stored.name,
            parameters={"ResponseContentDisposition": disposition, "ResponseContentType": content_type},
            expire=settings.UPLOAD_URL_SECONDS,
        )
        response: HttpResponse = HttpResponseRedirect(url)
        response["Cache-Control"] = "private, no-store"
        return response
    try:
        handle = stored.open("rb")
    except FileNotFoundError:
        raise Http404() from None
    response = FileResponse(handle, content_type=content_type)
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = "private, max-age=3600"
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = SANDBOX_CSP
    response["Cross-Origin-Resource-Policy"] = "same-origin"
    return response


@require_safe
def attachment(request: HttpRequest, attachment_id: int, name: str) -> HttpResponse:
    """The file itself (``name`` is for the reader of the URL; the stored name is what is sent)."""
    found = _attachment(request, attachment_id)
    inline = found.kind != Attachment.Kind.FILE and found.content_type in INLINE_TYPES
    return _serve(found.file, content_type=found.content_type, filename=found.name, inline=inline)


@require_safe
def attachment_thumbnail(request: HttpRequest, attachment_id: int) -> HttpResponse:
    found = _attachment(request, attachment_id)
    if not found.thumbnail:
        raise Http404()
    stem = found.name.rsplit(".", 1)[0]
    return _serve(found.thumbnail, content_type="image/webp", filename=f"{stem}-thumbnail.webp", inline=True)
