"""The search box: messages (``messaging.search_selectors.messages_search``), people and public rooms.

As you type, htmx asks for ``/search/`` and swaps in the results partial; Enter (or a page
load) shows the same results as a page. Thin over the selectors.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from accounts.selectors import people_find
from chatsite.validation import InvalidNumber, parse_optional_id
from messaging.exceptions import InvalidSearch
from messaging.search import QUERY_MAX_LENGTH
from messaging.search_selectors import SEARCH_OFFSET_MAX, SEARCH_ORDERS, messages_search
from rooms.selectors import public_rooms, room_ids_for_user
from rooms.views import render_chat

PAGE = 20
NAMES_MAX = 100  # people and rooms are looked up by short text, not by whole queries


@login_required
@require_GET
def search(request: HttpRequest) -> HttpResponse:
    text = request.GET.get("q", "")
    order = request.GET.get("order")
    order = order if order in SEARCH_ORDERS else SEARCH_ORDERS[0]
    try:
        offset = min(parse_optional_id(request.GET.get("offset"), label="offset") or 0, SEARCH_OFFSET_MAX)
    except InvalidNumber:
        offset = 0
    try:  # newest first pages by keyset (the previous page's last id)
        before = parse_optional_id(request.GET.get("before"), label="before") if order == "newest" else None
    except InvalidNumber:
        before = None
    context = {
        "q": text[:QUERY_MAX_LENGTH],
        "search_q": text[:QUERY_MAX_LENGTH],
        "order": order,
        "error": None,
        "page": None,
        "offset": offset,
    }
    if text.strip():
        try:
            context["page"] = messages_search(
                user=request.user, text=text, order=order, limit=PAGE, offset=offset, before=before
            )
        except InvalidSearch as exc:
            context["error"] = exc.detail
        names = text.strip().lstrip("@#") if ":" not in text and len(text) <= NAMES_MAX else ""
        first_page = not offset and before is None
        context["people"] = people_find(text=names) if names and first_page else []
        context["rooms"] = list(public_rooms(search=names)[:5]) if names and first_page else []
        context["mine"] = set(room_ids_for_user(user_id=request.user.id)) if context["rooms"] else set()
    context["next_offset"] = offset + PAGE
    status = 400 if context["error"] and not request.htmx else 200
    if request.htmx and request.GET.get("panel"):
        return render(request, "messaging/_search_results.html", context, status=status)
    return render_chat(request, "messaging/search.html", context, status=status)
