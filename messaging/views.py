"""Web chat pages and htmx fragments. Thin over rooms/messaging services and selectors.

Live messages never come from here: they arrive over ``/ws/?html=1`` rendered from the same
partial (``messaging/_message.html``) these views use for history.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from chatsite.realtime.selectors import latest_seq
from chatsite.validation import InvalidNumber, parse_id
from messaging import batching, selectors, services
from messaging.exceptions import InvalidMessage, SendRateLimited
from rooms.selectors import room_detail, room_label
from rooms.views import not_found_as_404, render_chat


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render_chat(request, "messaging/home.html", {})


def _pending_payload(request: HttpRequest) -> dict:
    """A blank message by the current user: the page clones it for optimistic sends, so even
    a pending message is markup from the one message partial."""
    user = request.user
    sender = {"id": user.id, "username": user.username, "display_name": user.display_name}
    return {"id": "", "room": "", "sender": sender, "body": "", "created_at": "", "client_id": ""}


@login_required
@require_GET
@not_found_as_404
def room(request: HttpRequest, room_id: int) -> HttpResponse:
    seq = latest_seq()  # before the history: the socket resumes from here
    room = room_detail(user=request.user, room_id=room_id)
    context = {
        "room": room,
        "label": room_label(room=room, user=request.user),
        "history": selectors.history_page(user=request.user, room_id=room_id),
        "pending": _pending_payload(request),
    }
    return render_chat(request, "messaging/room.html", context, seq=seq)


@login_required
@require_GET
@not_found_as_404
def history(request: HttpRequest, room_id: int) -> HttpResponse:
    try:
        before = parse_id(request.GET.get("before"), label="before", minimum=1)
    except InvalidNumber:
        return HttpResponseBadRequest("before must be a message id")
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
            sender=request.user, room_id=room_id, body=body, client_id=request.POST.get("client_id")
        )
        batching.message_send_in_request(request, send)
    except (InvalidMessage, SendRateLimited) as exc:
        error = exc.detail
    if not request.htmx:
        return redirect("room", room_id=room_id)
    context = {"room_id": room_id, "error": error, "body": body if error else ""}
    return render(request, "messaging/_composer.html", context, status=400 if error else 200)
