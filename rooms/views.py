"""Web pages and htmx fragments for rooms, members and DMs. Thin over rooms services/selectors.

Every room-scoped view answers 404 to non-members, exactly as for a missing room (the
selectors raise RoomNotFound for both).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PermissionDenied403
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from accounts.selectors import blocked_ids, users_search
from accounts.services import user_block, user_unblock
from chatsite.exceptions import DomainError, NotFound, PermissionDenied
from chatsite.realtime.selectors import latest_seq
from chatsite.validation import InvalidNumber, parse_optional_id
from rooms import moderation, selectors, services
from rooms.exceptions import InvalidNotify, UnknownUser
from rooms.models import Membership, Room

SEARCH_LIMIT = 8


def not_found_as_404(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn the domain's NotFound (missing *or* not visible) into the same HTTP 404."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound:
            raise Http404() from None

    return wrapper


def render_chat(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200, seq: int | None = None
) -> HttpResponse:
    """A page in the two-pane layout: the sidebar, and the seq the page's socket resumes from.

    ``seq`` must be read before anything else the page shows (pass it in when the caller reads
    more first), so every later event reaches the page over the socket's catch-up, and the page
    de-duplicates what it already rendered by message id.
    """
    seq = latest_seq() if seq is None else seq
    full = {
        "seq": seq,
        "sidebar": selectors.sidebar(user=request.user),
        "blocked_users": ",".join(map(str, blocked_ids(user_id=request.user.id))),
        **context,
    }
    return render(request, template, full, status=status)


def _go(request: HttpRequest, url: str) -> HttpResponse:
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@require_GET
def sidebar(request: HttpRequest) -> HttpResponse:
    try:
        current = parse_optional_id(request.GET.get("current"), label="current")
    except InvalidNumber:
        current = None  # only a highlight: a bad value shows the sidebar without one
    context = {"sidebar": selectors.sidebar(user=request.user), "current_room_id": current}
    return render(request, "rooms/_sidebar.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def room_new(request: HttpRequest) -> HttpResponse:
    values = {"name": "", "description": "", "kind": Room.Kind.PUBLIC}
    error = None
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            room = services.room_create(creator=request.user, **values)
        except DomainError as exc:
            error = exc.detail
        else:
            return _go(request, f"/r/{room.id}/")
    return render_chat(
        request, "rooms/new.html", {"values": values, "error": error}, status=400 if error else 200
    )


@login_required
@require_GET
def browse(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "").strip()
    mine = set(selectors.room_ids_for_user(user_id=request.user.id))
    context = {"results": selectors.public_rooms(search=query)[:50], "mine": mine, "q": query}
    if request.htmx:
        return render(request, "rooms/_browse_results.html", context)
    return render_chat(request, "rooms/browse.html", context)


@login_required
@require_POST
@not_found_as_404
def join(request: HttpRequest, room_id: int) -> HttpResponse:
    services.room_join(user=request.user, room_id=room_id)
    return _go(request, f"/r/{room_id}/")


@login_required
@require_POST
@not_found_as_404
def leave(request: HttpRequest, room_id: int) -> HttpResponse:
    try:
        room = services.room_leave(user=request.user, room_id=room_id)
    except PermissionDenied as exc:
        return HttpResponse(exc.detail, status=exc.status)
    # A public room stays open to look into: its page becomes the preview with a Join button.
    return _go(request, f"/r/{room_id}/" if room.kind == Room.Kind.PUBLIC else "/")


@login_required
@require_POST
@not_found_as_404
def notifications(request: HttpRequest, room_id: int) -> HttpResponse:
    """Set what the member is notified of here (the room header's select)."""
    try:
        services.membership_notify_set(user=request.user, room_id=room_id, level=request.POST.get("level"))
    except InvalidNotify as exc:
        return HttpResponse(exc.detail, status=400)
    if request.htmx:
        return HttpResponse(status=204)
    return _go(request, f"/r/{room_id}/")


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def room_settings(request: HttpRequest, room_id: int) -> HttpResponse:
    """Name, topic and description, for owners and admins, or any member of a group conversation
    (others: 403; non-members: 404)."""
    room = selectors.room_detail(user=request.user, room_id=room_id)
    may_change = room.is_group or (
        not room.is_direct and selectors.membership_get(user=request.user, room_id=room_id).can_manage
    )
    if not may_change:
        raise PermissionDenied403()
    values = {"name": room.name, "topic": room.topic, "description": room.description}
    error = None
    if request.method == "POST":
        values = {k: request.POST.get(k, "") for k in values}
        try:
            services.room_update(actor=request.user, room_id=room_id, **values)
        except DomainError as exc:
            error = exc
        else:
            return _go(request, f"/r/{room_id}/")
    context = {
        "room": room,
        "values": values,
        "error": error,
        "is_owner": selectors.membership_get(user=request.user, room_id=room_id).role
        == Membership.Role.OWNER,
        "log": selectors.room_moderation_log(user=request.user, room_id=room_id),
    }
    return render_chat(request, "rooms/settings.html", context, status=400 if error else 200)


@login_required
@require_POST
@not_found_as_404
def room_moderate(request: HttpRequest, room_id: int) -> HttpResponse:
    """The settings page's read-only and archive buttons (``read_only`` / ``archived``: 1 or 0)."""
    flags = {key: request.POST[key] == "1" for key in ("read_only", "archived") if key in request.POST}
    try:
        moderation.room_moderate(actor=request.user, room_id=room_id, via="web", **flags)
    except PermissionDenied as exc:
        return HttpResponse(exc.detail, status=exc.status)
    return _go(request, f"/rooms/{room_id}/settings/")


def _members(request: HttpRequest, room_id: int, **extra: Any) -> HttpResponse:
    room = selectors.room_detail(user=request.user, room_id=room_id)
    members = selectors.room_members_presence(user=request.user, room_id=room_id)
    me = next(entry.membership for entry in members if entry.membership.user_id == request.user.id)
    mutes = selectors.room_mutes(room_id=room_id)
    for entry in members:
        entry.membership.mute = mutes.get(entry.membership.user_id)
        entry.membership.moderatable = _may_act_on(me, entry.membership)
    blocked = set(blocked_ids(user_id=request.user.id))
    context = {
        "room": room,
        "members": members,
        "me": me,
        "mute_choices": MUTE_CHOICES,
        "blocked": blocked,
        "blocked_csv": ",".join(map(str, sorted(blocked))),
        **extra,
    }
    return render(request, "rooms/_members.html", context)


# What the member panel offers (minutes): the REST API takes any length up to a year.
MUTE_CHOICES = [(10, "10 minutes"), (60, "1 hour"), (24 * 60, "1 day"), (7 * 24 * 60, "1 week")]


def _may_act_on(me: Membership, target: Membership) -> bool:
    """Whether the panel offers ``me`` moderation of ``target`` (the services decide anyway)."""
    if me.room.is_direct or not me.can_manage or target.user_id == me.user_id:
        return False
    if target.role == Membership.Role.OWNER:
        return False
    return me.role == Membership.Role.OWNER or not target.can_manage


@login_required
@require_POST
@not_found_as_404
def member_block(request: HttpRequest, room_id: int, user_id: int) -> HttpResponse:
    """Block (``block=1``) or unblock a fellow member for oneself; answers the member panel."""
    selectors.membership_get(user=request.user, room_id=room_id)  # a member of this room: else 404
    try:
        if request.POST.get("block") == "1":
            user_block(user=request.user, target_id=user_id)
        else:
            user_unblock(user=request.user, target_id=user_id)
    except DomainError as exc:
        return _members(request, room_id, action_error=exc.detail)
    return _members(request, room_id)


@login_required
@require_POST
@not_found_as_404
def member_moderate(request: HttpRequest, room_id: int, user_id: int) -> HttpResponse:
    """The member panel's moderation forms: ``action`` mute (``minutes``, ``reason``), unmute,
    remove (``reason``), role (``role``) or transfer; answers the updated panel."""
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")
    acts: dict[str, Callable[[], object]] = {
        "mute": lambda: moderation.member_mute(
            actor=request.user,
            room_id=room_id,
            user_id=user_id,
            minutes=request.POST.get("minutes"),
            reason=reason,
            via="web",
        ),
        "unmute": lambda: moderation.member_unmute(
            actor=request.user, room_id=room_id, user_id=user_id, via="web"
        ),
        "remove": lambda: services.member_remove(
            actor=request.user, room_id=room_id, user_id=user_id, via="web", reason=reason
        ),
        "role": lambda: moderation.member_role_set(
            actor=request.user, room_id=room_id, user_id=user_id, role=request.POST.get("role"), via="web"
        ),
        "transfer": lambda: moderation.room_transfer(
            actor=request.user, room_id=room_id, user_id=user_id, via="web"
        ),
    }
    if action not in acts:
        return _members(request, room_id, action_error="Unknown action.")
    try:
        acts[action]()
    except NotFound:
        raise
    except DomainError as exc:
        return _members(request, room_id, action_error=exc.detail)
    return _members(request, room_id)


@login_required
@require_http_methods(["GET", "POST"])
@not_found_as_404
def members(request: HttpRequest, room_id: int) -> HttpResponse:
    """The member panel; POST ``username`` invites that user and answers the updated panel."""
    if request.method == "GET":
        return _members(request, room_id)
    try:
        services.member_add(actor=request.user, room_id=room_id, username=request.POST.get("username", ""))
    except (PermissionDenied, UnknownUser) as exc:
        return _members(request, room_id, invite_error=exc.detail)
    return _members(request, room_id)


@login_required
@require_GET
@not_found_as_404
def invite_search(request: HttpRequest, room_id: int) -> HttpResponse:
    room = selectors.room_detail(user=request.user, room_id=room_id)
    present = {m.user_id for m in selectors.room_members(user=request.user, room_id=room_id)}
    return _user_results(request, "rooms/_invite_results.html", {"room": room}, exclude=present)


def _user_results(
    request: HttpRequest, template: str, context: dict[str, Any], exclude: set[int]
) -> HttpResponse:
    prefix = request.GET.get("q", "").strip()
    users = [u for u in users_search(prefix=prefix)[: SEARCH_LIMIT + len(exclude)] if u.id not in exclude]
    return render(
        request, template, {"users": users[:SEARCH_LIMIT] if prefix else [], "q": prefix, **context}
    )


@login_required
@require_http_methods(["GET", "POST"])
def dm_new(request: HttpRequest) -> HttpResponse:
    error = None
    if request.method == "POST":
        usernames = [name for name in request.POST.getlist("usernames") if name.strip()]
        try:
            room, _created = services.dm_open(user=request.user, usernames=usernames)
        except DomainError as exc:
            error = exc.detail
        else:
            return _go(request, f"/r/{room.id}/")
    return render_chat(request, "rooms/dm_new.html", {"error": error}, status=400 if error else 200)


@login_required
@require_GET
def dm_search(request: HttpRequest) -> HttpResponse:
    return _user_results(request, "rooms/_dm_results.html", {}, exclude={request.user.id})
