"""The web page that ends an account: thin over ``messaging.accounts.account_delete`` (here, not
in accounts or rooms, because deleting an account touches rooms and messages)."""

from __future__ import annotations

from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from accounts.forms import PasswordConfirmForm
from accounts.views import add_domain_error
from chatsite.exceptions import DomainError
from messaging import accounts


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request: HttpRequest) -> HttpResponse:
    """Delete the account, confirmed with the password; this browser is logged out with it.
    (Here, at the top: leaving every room and the reactions it left are part of it.)"""
    form = PasswordConfirmForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            accounts.account_delete(user=request.user, password=form.cleaned_data["password"])
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            logout(request)
            return render(request, "accounts/deleted.html")
    return render(request, "accounts/delete.html", {"form": form}, status=400 if form.errors else 200)
