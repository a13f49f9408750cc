"""Web chat pages and htmx fragments. Thin over rooms/messaging services and selectors.

Live messages never come from here: they arrive over ``/ws/?html=1`` rendered from the same
partial (``messaging/_message.html``) these views use for history.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from types import SimpleNamespace

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from chatsite.exceptions import DomainError, PermissionDenied
from chatsite.realtime.selectors import latest_seq
from chatsite.validation import InvalidNumber, parse_id, parse_optional_id
from messaging import batching, changes, reports, selectors, services
from messaging.emoji import QUICK_REACTIONS
from messaging.exceptions import (
    InvalidAttachments,
    InvalidMessage,
    InvalidReply,
    MentionNotAllowed,
    MessageNotFound,
    SendRateLimited,
)
from messaging.models import MessageReport
from messaging.receipts import room_receipts
from rooms.exceptions import RoomNotFound
from rooms.models import Membership
from rooms.selectors import (
    dm_partner,
    mute_active,
    post_refusal,
    presence_states,
    public_room_preview,
    room_detail,
    room_label,
    rooms_suggested,
)
from rooms.selectors import membership_get as room_membership
from rooms.views import not_found_as_404, render_chat


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render_chat(request, "messaging/home.html", {"suggested": rooms_suggested(user=request.user)})


def _pending_payload(request: HttpRequest) -> dict:
    """A blank message by the current user: the page clones it for optimistic sends, so even
    a pending message is markup from the one message partial."""
    user = request.user
    sender = {"id": user.id, "username": user.username, "display_name": user.display_name}
    return {"id": "", "room": "", "sender": sender, "body": "", "created_at": "", "client_id": ""}


def _composer_state(membership: Membership) -> dict:
    """What the composer shows of the room's rules for this member: disabled with the reason
    while they are muted or the room is read-only (to members) or archived. The page keeps it
    current from ``member.updated`` and ``room.updated``."""
    mute = mute_active(room_id=membership.room_id, user_id=membership.user_id)
    refusal = post_refusal(membership=membership, mute=mute)
    user = membership.user
    site_muted = user.muted_until is not None and user.muted_until > timezone.now()
    return {
        "refusal": refusal.detail if refusal is not None else "",
        # A site-wide mute (by a site moderator) comes first: the page shows its end and reason.
        "mute": SimpleNamespace(until=user.muted_until, reason=user.mute_reason, scope="site")
        if site_muted
        else mute,
        "posting_room": membership.room,
        "can_manage": membership.can_manage,
    }


def _preview(request: HttpRequest, room_id: int) -> HttpResponse:
    """A public room the user is not in (never joined, or left): its recent history, read-only,
    and a Join button. Any other room raises RoomNotFound: the same 404 as a missing one."""
    preview_room = public_room_preview(room_id=room_id)
    context = {
        "preview_room": preview_room,
        "history": selectors.preview_page(room_id=room_id),
        "read_only": True,
    }
    return render_chat(request, "messaging/room_preview.html", context)


@login_required
@require_GET
@not_found_as_404
def room(request: HttpRequest, room_id: int) -> HttpResponse:
    seq = latest_seq()  # before the history: the socket resumes from here
    try:
        room = room_detail(user=request.user, room_id=room_id)
    except RoomNotFound:
        return _preview(request, room_id)
    page = None
    try:
        around = parse_optional_id(request.GET.get("around"), label="around", minimum=1)
    except InvalidNumber:
        around = None
    if around is not None:  # a jump to a message (a reply's parent, a search result)
        page = selectors.history_around(user=request.user, room_id=room_id, message_id=around)
    membership = room_membership(user=request.user, room_id=room_id)
    partner = dm_partner(room=room, user=request.user) if room.is_direct else None
    context = {
        # A 1:1 DM's header shows the other person's presence.
        "partner_id": partner,
        "partner_presence": presence_states(user_ids=[partner])[partner] if partner else None,
        "room": room,
        "label": room_label(room=room, user=request.user),
        "history": page or selectors.history_page(user=request.user, room_id=room_id),
        "around": around if page else None,
        "pending": _pending_payload(request),
        **_composer_state(membership),
        # Where the "new messages" divider goes (and what "jump to first unread" opens).
        "first_unread": selectors.first_unread_id(
            user_id=request.user.id, room_id=room_id, last_read=membership.last_read_message_id
        ),
        "quick_reactions": QUICK_REACTIONS,
        "notify": membership.notify,
        "notify_choices": Membership.Notify.choices,
        "receipts_json": json.dumps(room_receipts(user=request.user, room_id=room_id).payload()),
    }
    return render_chat(request, "messaging/room.html", context, seq=seq)


@login_required
@require_GET
@not_found_as_404
def history(request: HttpRequest, room_id: int) -> HttpResponse:
    try:
        if "after" in request.GET:
            after = parse_id(request.GET.get("after"), label="after", minimum=1)
            newer = selectors.message_payloads_page(user=request.user, room_id=room_id, after=after, limit=51)
            page = selectors.HistoryPage(messages=newer[:50], has_more=False, has_newer=len(newer) > 50)
            return render(request, "messaging/_history_newer.html", {"history": page, "room_id": room_id})
        before = parse_id(request.GET.get("before"), label="before", minimum=1)
    except InvalidNumber:
        return HttpResponseBadRequest("before and after must be message ids")
    page = selectors.history_page(user=request.user, room_id=room_id, before=before)
    return render(request, "messaging/_history.html", {"history": page, "room_id": room_id})


@login_required
@require_POST
@not_found_as_404
def send(request: HttpRequest, room_id: int) -> HttpResponse:
    """The composer's form post: ``message_send``, then only the cleared composer. The message
    itself reaches every page (this one too) through the WebSocket broadcast."""
    error = None
    body = request.POST.get("body", "")
    try:
        send = services.SendRequest(
            sender=request.user,
            room_id=room_id,
            body=body,
            client_id=request.POST.get("client_id"),
            reply_to=request.POST.get("reply_to") or None,
            attachments=request.POST.getlist("attachments"),
        )
        batching.message_send_in_request(request, send)
    except (
        InvalidMessage,
        InvalidReply,
        InvalidAttachments,
        MentionNotAllowed,
        SendRateLimited,
        PermissionDenied,
    ) as exc:
        error = exc.detail
    if not request.htmx:
        return redirect("room", room_id=room_id)
    context = {
        "room_id": room_id,
        "error": error,
        "body": body if error else "",
        **_composer_state(room_membership(user=request.user, room_id=room_id)),
    }
    return render(request, "messaging/_composer.html", context, status=400 if error else 200)


# --- one message: react, edit, delete, its thread and its earlier versions ---------------------
# Each change answers with the message's partial (swapped in place), so the page is right even
# without its socket; with it, the same change also arrives as an event, replacing it again.


def _message_or_404(view):
    """MessageNotFound (missing, or in a room not the user's) is the same 404 as a missing room."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, message_id: int, *args, **kwargs) -> HttpResponse:
        try:
            return view(request, message_id, *args, **kwargs)
        except MessageNotFound:
            raise Http404() from None

    return wrapper


def _prefix(request: HttpRequest) -> str:
    """The id prefix of the copy being replaced (htmx names it in HX-Target): a message in the
    thread panel (messaging/_thread.html) answers as the panel's copy, ``thread-msg-…``, so the
    page never holds two elements with one id."""
    return "thread-" if (request.headers.get("HX-Target") or "").startswith("thread-") else ""


def _message_partial(request: HttpRequest, message_id: int) -> HttpResponse:
    payload = selectors.message_get(user=request.user, message_id=message_id)
    return render(request, "messaging/_message.html", {"m": payload, "prefix": _prefix(request)})


def _refused(exc: DomainError) -> HttpResponse:
    return HttpResponse(exc.detail, status=exc.status, content_type="text/plain; charset=utf-8")


@login_required
@require_GET
@_message_or_404
def message_detail(request: HttpRequest, message_id: int) -> HttpResponse:
    return _message_partial(request, message_id)


@login_required
@require_POST
@_message_or_404
def message_react(request: HttpRequest, message_id: int) -> HttpResponse:
    emoji = request.POST.get("emoji", "")
    return _changed(
        request,
        message_id,
        lambda: changes.reaction_toggle(user=request.user, message_id=message_id, emoji=emoji),
    )


def _changed(request: HttpRequest, message_id: int, change: Callable[[], object]) -> HttpResponse:
    """Apply a change; answer the message as it now is, or the refusal (400/403/409) as text."""
    try:
        change()
    except MessageNotFound:
        raise
    except DomainError as exc:
        return _refused(exc)
    return _message_partial(request, message_id)


@login_required
@require_http_methods(["GET", "POST"])
@_message_or_404
def message_edit(request: HttpRequest, message_id: int) -> HttpResponse:
    """GET: the inline edit form (in place of the body); POST: save, answer the message."""
    if request.method == "GET":
        payload = selectors.message_get(user=request.user, message_id=message_id)
        context = {"m": payload, "editing": True, "prefix": _prefix(request)}
        return render(request, "messaging/_message.html", context)
    body = request.POST.get("body", "")
    return _changed(
        request,
        message_id,
        lambda: changes.message_edit(actor=request.user, message_id=message_id, body=body),
    )


@login_required
@require_POST
@_message_or_404
def message_delete(request: HttpRequest, message_id: int) -> HttpResponse:
    return _changed(
        request,
        message_id,
        lambda: changes.message_delete(actor=request.user, message_id=message_id, via="web"),
    )


@login_required
@require_GET
@_message_or_404
def message_thread(request: HttpRequest, message_id: int) -> HttpResponse:
    thread = selectors.thread(user=request.user, message_id=message_id)
    return render(request, "messaging/_thread.html", {"thread": thread})


@login_required
@require_GET
@_message_or_404
def message_revisions(request: HttpRequest, message_id: int) -> HttpResponse:
    payload = selectors.message_get(user=request.user, message_id=message_id)
    versions = selectors.revisions(user=request.user, message_id=message_id)
    return render(request, "messaging/_revisions.html", {"m": payload, "versions": versions})


@login_required
@require_http_methods(["GET", "POST"])
@_message_or_404
def message_report(request: HttpRequest, message_id: int) -> HttpResponse:
    """GET: the report form (in the side panel); POST: file it, answer the confirmation (or the
    form with the refusal). Only site moderators ever see who reported."""
    payload = selectors.message_get(user=request.user, message_id=message_id)
    context = {"m": payload, "reasons": MessageReport.Reason.choices, "values": {"reason": "", "note": ""}}
    if request.method == "POST":
        context["values"] = {"reason": request.POST.get("reason", ""), "note": request.POST.get("note", "")}
        try:
            _report, created = reports.message_report(
                reporter=request.user, message_id=message_id, **context["values"]
            )
        except MessageNotFound:
            raise
        except DomainError as exc:
            return render(
                request, "messaging/_report.html", {**context, "error": exc.detail}, status=exc.status
            )
        return render(request, "messaging/_report.html", {**context, "done": True, "again": not created})
    return render(request, "messaging/_report.html", context)
