"""The web page that makes accounts: registration (a new account joins the site's default
rooms). In the rooms app because it touches rooms, and accounts sits below rooms. Thin over
``rooms.services.account_register``. Deletion touches messages too: ``messaging.account_views``.
"""

from __future__ import annotations

from django.contrib.auth import login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts import services as account_services
from accounts import throttling
from accounts.exceptions import RegistrationError, RegistrationThrottled
from accounts.forms import RegisterForm
from rooms import services


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegisterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        try:
            throttling.registration_take(ip=throttling.client_ip(request))
        except RegistrationThrottled as exc:
            form = RegisterForm(request.POST)
            form.is_valid()
            form.add_error(None, exc.detail)
            response = render(request, "accounts/register.html", {"form": form}, status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
    if request.method == "POST" and form.is_valid():
        try:
            user = services.account_register(
                username=form.cleaned_data["username"],
                password=form.cleaned_data["password1"],
                email=form.cleaned_data.get("email") or "",
            )
        except RegistrationError as exc:
            _add_registration_errors(form, exc.errors)
        else:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            return redirect("home")
    elif request.method == "POST":
        # The form's own errors and the account rules' together, so one submission shows them all.
        _add_registration_errors(
            form,
            account_services.registration_errors(
                username=request.POST.get("username", ""),
                password=request.POST.get("password1", ""),
                email=form.cleaned_data.get("email") or "",
            ),
        )
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/register.html", {"form": form}, status=status)


def _add_registration_errors(form: RegisterForm, errors: dict[str, list[str]]) -> None:
    """Add the account rules' errors to fields the form has not already found wrong."""
    for field, messages in errors.items():
        name = "password1" if field == "password" else field
        if name in form.errors:
            continue
        for message in messages:
            form.add_error(name, message)
