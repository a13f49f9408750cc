"""Web pages for accounts: register, log in, log out. Thin over services and throttling."""

from __future__ import annotations

from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from accounts import services, throttling
from accounts.exceptions import LoginThrottled, RegistrationError, RegistrationThrottled
from accounts.forms import LoginForm, RegisterForm
from chatsite.exceptions import DomainError


@require_http_methods(["GET", "POST"])
def register(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("home")
    form = RegisterForm(request.POST or None)
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
            user = services.user_register(
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
            services.registration_errors(
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


class LoginView(auth_views.LoginView):
    """Django's login view with failed-attempt throttling per IP and per username."""

    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        username = request.POST.get("username", "")
        ip = throttling.client_ip(request)
        try:
            throttling.login_throttle_check(
                ip=ip, username=username, known_device=throttling.known_device(request, username)
            )
        except LoginThrottled as exc:
            form = self.get_form()
            form.errors.clear()
            response = render(
                request,
                self.template_name,
                {"form": self.authentication_form(request), "throttled": exc.detail},
                status=429,
            )
            response["Retry-After"] = str(exc.retry_after)
            return response
        response = super().post(request, *args, **kwargs)
        if response.status_code == 302:
            throttling.login_succeeded(ip=ip, username=username)
            throttling.remember_device(response, username)
        else:
            throttling.login_failed(ip=ip, username=username)
        return response

    def form_invalid(self, form: LoginForm) -> HttpResponse:
        return self.render_to_response(self.get_context_data(form=form), status=400)


class LogoutView(auth_views.LogoutView):
    pass


@login_required
@require_POST
def theme(request: HttpRequest) -> HttpResponse:
    """Remember the theme toggle (the page applies it at once; this makes it stick)."""
    try:
        services.user_set_theme(user=request.user, theme=request.POST.get("theme", ""))
    except DomainError as exc:
        return HttpResponse(exc.detail, status=400)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("home")
