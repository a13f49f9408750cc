"""Web pages for accounts: register, log in, log out, profile, passwords. Thin over services and
throttling."""

from __future__ import annotations

from django import forms
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import SetPasswordForm
from django.core.files.storage import default_storage
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect, render
from django.urls import reverse_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from accounts import services, throttling
from accounts.exceptions import LoginThrottled, PasswordResetThrottled
from accounts.forms import LoginForm, PasswordChangeForm, ProfileForm
from accounts.models import User
from chatsite.exceptions import DomainError


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
        services.user_profile_update(user=request.user, theme=request.POST.get("theme", ""))
    except DomainError as exc:
        return HttpResponse(exc.detail, status=400)
    if request.htmx:
        return HttpResponse(status=204)
    return redirect("home")


def add_domain_error(form: forms.Form, exc: DomainError, renamed: dict[str, str] | None = None) -> None:
    """Show a service's refusal on the form's field it is about (``renamed``: service argument →
    form field), or on the form as a whole."""
    field = (renamed or {}).get(exc.field or "", exc.field)
    form.add_error(field if field in form.fields else None, exc.detail)


@login_required
@require_http_methods(["GET", "POST"])
def profile(request: HttpRequest) -> HttpResponse:
    user: User = request.user
    fields = ("display_name", "email", "time_zone", "clock", "send_read_receipts", "appear_offline")
    form = ProfileForm(
        request.POST if request.method == "POST" else None, initial={f: getattr(user, f) for f in fields}
    )
    saved = False
    if request.method == "POST" and form.is_valid():
        try:
            values = {f: form.cleaned_data[f] for f in fields}
            values["clock"] = values["clock"] or None  # not sent: unchanged
            services.user_profile_update(user=user, **values)
        except DomainError as exc:
            add_domain_error(form, exc)
        else:
            saved = True
            form = ProfileForm(initial={f: getattr(user, f) for f in fields})
    status = 400 if form.errors else 200
    return render(request, "accounts/profile.html", {"form": form, "saved": saved}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    """Change the password; this session stays logged in, every other one (and every refresh
    token and open socket) is signed out."""
    form = PasswordChangeForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.user_password_change(
                user=request.user,
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password1"],
            )
        except DomainError as exc:
            add_domain_error(form, exc, renamed={"new_password": "new_password1"})
        else:
            update_session_auth_hash(request, request.user)
            return render(request, "accounts/password_change.html", {"changed": True})
    status = 400 if form.errors else 200
    return render(request, "accounts/password_change.html", {"form": form}, status=status)


@login_required
@require_POST
def avatar_change(request: HttpRequest) -> HttpResponse:
    """Upload a new picture (``avatar``) or, with ``remove``, go back to the default."""
    user: User = request.user
    if request.POST.get("remove"):
        services.user_avatar_clear(user=user)
        return redirect("profile")
    upload = request.FILES.get("avatar")
    try:
        if upload is None:
            raise DomainError("Choose a picture to upload.", field="avatar")
        services.user_avatar_set(user=user, upload=upload)
    except DomainError as exc:
        fields = ("display_name", "email", "time_zone", "clock")
        form = ProfileForm(initial={f: getattr(user, f) for f in fields})
        context = {"form": form, "avatar_error": exc.detail}
        return render(request, "accounts/profile.html", context, status=400)
    return redirect("profile")


@login_required
@require_safe
def avatar(request: HttpRequest, user_id: int, filename: str) -> HttpResponse:
    """A stored picture, from whichever storage holds it (disk or S3), to logged-in people; its
    name is new for each upload, so it can be cached for good."""
    name = f"avatars/{user_id}/{filename}"
    if not User.objects.filter(pk=user_id, avatar=name).exists():
        raise Http404()
    response = FileResponse(default_storage.open(name, "rb"), content_type="image/webp")
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    return response


class ResetSetPasswordForm(SetPasswordForm):
    """Django's form for the emailed link, saving through the one service that sets passwords
    (so a reset signs the account out everywhere, as a change does)."""

    def save(self, commit: bool = True) -> User:
        return services.user_password_set(user=self.user, password=self.cleaned_data["new_password1"])


class PasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link. Known or unknown address, the answer is the same page; requests are
    throttled per client address (429) and per address asked about (the same page, no email)."""

    template_name = "accounts/password_reset.html"
    email_template_name = "accounts/password_reset_email.txt"
    subject_template_name = "accounts/password_reset_subject.txt"
    success_url = reverse_lazy("password-reset-done")

    def form_valid(self, form: forms.Form) -> HttpResponse:
        try:
            allowed = throttling.password_reset_take(
                ip=throttling.client_ip(self.request), email=form.cleaned_data["email"]
            )
        except PasswordResetThrottled as exc:
            form.add_error(None, exc.detail)
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        if not allowed:
            return HttpResponseRedirect(self.get_success_url())
        return super().form_valid(form)


class PasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "accounts/password_reset_done.html"


class PasswordResetConfirmView(auth_views.PasswordResetConfirmView):
    template_name = "accounts/password_reset_confirm.html"
    form_class = ResetSetPasswordForm
    success_url = reverse_lazy("password-reset-complete")


class PasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "accounts/password_reset_complete.html"
