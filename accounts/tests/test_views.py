import re

import pytest
from django.core import mail
from django.test import Client, override_settings
from rest_framework.test import APIClient
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from conftest import PASSWORD, elements

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


def csrf_post(client, url, data):
    page = client.get(url)
    token = page.cookies["csrftoken"].value
    return client.post(url, {**data, "csrfmiddlewaretoken": token})


def test_register_logs_in_and_redirects_home(browser):
    response = csrf_post(
        browser, "/register/", {"username": "dana", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert browser.get("/").status_code == 200
    assert User.objects.filter(username="dana").exists()


def test_register_without_csrf_token_is_refused(browser):
    response = browser.post("/register/", {"username": "dana", "password1": PASSWORD, "password2": PASSWORD})
    assert response.status_code == 403
    assert not User.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"username": "dana", "password1": "short", "password2": "short"}, b"too short"),
        ({"username": "dana", "password1": PASSWORD, "password2": "other"}, b"differ"),
        ({"username": "", "password1": PASSWORD, "password2": PASSWORD}, b"required"),
        ({"username": "DUP", "password1": PASSWORD, "password2": PASSWORD}, b"taken"),
    ],
)
def test_register_shows_errors_and_creates_nothing(browser, make_user, data, message):
    make_user("dup")
    response = csrf_post(browser, "/register/", data)
    assert response.status_code == 400
    assert message in response.content
    assert User.objects.count() == 1


def test_an_empty_registration_post_shows_what_is_required():
    """Regression: an empty form post (no field at all) left the form unbound (``request.POST or
    None``) and the view read its cleaned_data: a 500 (found by tests/test_malformed_forms.py)."""
    response = Client().post("/register/", {})  # no CSRF token either: nothing at all
    assert response.status_code == 400
    assert b"required" in response.content
    assert not User.objects.exists()


@pytest.mark.parametrize("path", ["/account/password/", "/account/delete/"])
def test_an_empty_post_to_an_account_form_shows_its_errors(make_user, path):
    """The same unbound form there answered 200 and showed nothing: the post did nothing silently."""
    client = Client()
    client.force_login(make_user("ann"))
    response = client.post(path, {})
    assert response.status_code == 400
    assert b"required" in response.content
    assert User.objects.filter(username="ann").exists()


def test_login_and_logout(browser, make_user):
    make_user("erin")
    response = csrf_post(browser, "/login/", {"username": "Erin", "password": PASSWORD})
    assert response.status_code == 302
    assert browser.get("/").status_code == 200
    token = browser.cookies["csrftoken"].value
    response = browser.post("/logout/", {"csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert browser.get("/").status_code == 302


def test_login_wrong_password_is_a_400_with_message(browser, make_user):
    make_user("erin")
    response = csrf_post(browser, "/login/", {"username": "erin", "password": "nope"})
    assert response.status_code == 400
    assert b"correct username and password" in response.content


@override_settings(LOGIN_THROTTLE_ATTEMPTS=2)
def test_login_form_throttles(browser, make_user):
    make_user("erin")
    for _ in range(2):
        csrf_post(browser, "/login/", {"username": "erin", "password": "nope"})
    response = csrf_post(browser, "/login/", {"username": "erin", "password": PASSWORD})
    assert response.status_code == 429
    assert b"Too many failed" in response.content


def test_home_redirects_anonymous_to_login(browser):
    response = browser.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_pages_send_csp_without_inline_scripts(browser):
    csp = browser.get("/login/")["Content-Security-Policy"]
    script_src = next(part for part in csp.split(";") if "script-src" in part)
    assert "unsafe-inline" not in script_src


def test_theme_toggle_is_remembered(make_user):
    user = make_user("olga")
    client = Client()
    client.force_login(user)
    htmx = {"HTTP_HX_REQUEST": "true"}
    assert client.post("/account/theme/", {"theme": "dark"}, **htmx).status_code == 204
    user.refresh_from_db()
    assert user.theme == "dark"
    assert 'data-theme="dark"' in client.get("/").content.decode()
    assert client.post("/account/theme/", {"theme": "neon"}, **htmx).status_code == 400
    assert Client().post("/account/theme/", {"theme": "dark"}).status_code == 302


def test_register_shows_every_field_error_at_once(browser, make_user):
    make_user("dup")
    response = csrf_post(
        browser,
        "/register/",
        {"username": "DUP", "email": "nope", "password1": "short", "password2": "other"},
    )
    assert response.status_code == 400
    for message in (b"taken", b"valid email", b"too short", b"differ"):
        assert message in response.content
    assert User.objects.count() == 1


def test_register_form_describedby_ids_exist(browser, make_user):
    make_user("dup")
    response = csrf_post(browser, "/register/", {"username": "dup", "password1": "short", "password2": "x"})
    found = elements(response.content.decode())
    ids = {attrs.get("id") for _, attrs in found}
    described = [
        attrs["aria-describedby"] for tag, attrs in found if tag == "input" and attrs.get("aria-describedby")
    ]
    assert len(described) >= 3  # username (help + error), password1, password2
    for value in described:
        for ref in value.split():
            assert ref in ids, ref


def logged_in(make_user, username: str = "ann", **extra) -> tuple[Client, User]:
    user = make_user(username, **extra)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client, user


def test_profile_page_changes_the_display_name_shown_in_the_chat(make_user):
    client, user = logged_in(make_user)
    response = csrf_post(client, "/account/", {"display_name": "Ann Smith", "email": "ann@example.com"})
    assert response.status_code == 200
    assert b"Saved." in response.content
    user.refresh_from_db()
    assert (user.display_name, user.email) == ("Ann Smith", "ann@example.com")
    assert b"Ann Smith" in client.get("/").content


def test_profile_page_turns_appear_offline_on_and_off(make_user):
    client, user = logged_in(make_user)
    response = csrf_post(client, "/account/", {"display_name": "", "email": "", "appear_offline": "on"})
    assert b"Saved." in response.content and b'id="id_appear_offline" checked' in (response.content)
    user.refresh_from_db()
    assert user.appear_offline
    csrf_post(client, "/account/", {"display_name": "", "email": ""})  # unticked
    user.refresh_from_db()
    assert not user.appear_offline


@pytest.mark.parametrize("value", ["x" * 10_000, "\u200b\u200d"])
def test_profile_page_refuses_a_bad_display_name(make_user, value):
    client, user = logged_in(make_user, display_name="Ann")
    response = csrf_post(client, "/account/", {"display_name": value, "email": ""})
    assert response.status_code == 400
    assert b'id="id_display_name_error"' in response.content
    user.refresh_from_db()
    assert user.display_name == "Ann"


def test_password_change_keeps_this_session_and_ends_the_others(make_user):
    client, user = logged_in(make_user)
    other = Client()
    other.force_login(user)
    assert other.get("/").status_code == 200
    response = csrf_post(
        client,
        "/account/password/",
        {
            "old_password": PASSWORD,
            "new_password1": "Another-Horse-43!",
            "new_password2": "Another-Horse-43!",
        },
    )
    assert response.status_code == 200
    assert b"Password changed" in response.content
    assert client.get("/").status_code == 200
    assert other.get("/").status_code == 302  # to the log-in page


def test_password_change_page_shows_a_wrong_current_password(make_user):
    client, user = logged_in(make_user)
    response = csrf_post(
        client,
        "/account/password/",
        {"old_password": "guess", "new_password1": "Another-Horse-43!", "new_password2": "Another-Horse-43!"},
    )
    assert response.status_code == 400
    assert b'id="id_old_password_error"' in response.content
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_password_reset_by_email_end_to_end(browser, make_user):
    user = make_user("ann", email="ann@example.com")
    token = str(RefreshToken.for_user(user))
    signed_in = Client()
    signed_in.force_login(user)
    response = csrf_post(browser, "/password-reset/", {"email": "ANN@example.com"})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.com"]
    link = re.search(r"http://testserver(/password-reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    form_page = browser.get(link, follow=True)  # Django swaps the token into the session, then redirects
    assert b"new_password1" in form_page.content
    url = form_page.redirect_chain[-1][0]
    done = browser.post(
        url,
        {
            "new_password1": "Another-Horse-43!",
            "new_password2": "Another-Horse-43!",
            "csrfmiddlewaretoken": browser.cookies["csrftoken"].value,
        },
    )
    assert done.status_code == 302
    user.refresh_from_db()
    assert user.check_password("Another-Horse-43!")
    assert signed_in.get("/").status_code == 302  # other sessions end
    with pytest.raises(TokenError):  # refresh tokens too
        RefreshToken(token).check_blacklist()
    assert b"expired" in browser.get(link, follow=True).content  # the link works once


@override_settings(EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend")
def test_password_reset_answers_an_unknown_email_exactly_like_a_known_one(browser, make_user):
    make_user("ann", email="ann@example.com")
    known = csrf_post(browser, "/password-reset/", {"email": "ann@example.com"})
    unknown = csrf_post(Client(enforce_csrf_checks=True), "/password-reset/", {"email": "who@example.com"})
    assert (known.status_code, known["Location"]) == (unknown.status_code, unknown["Location"])
    assert len(mail.outbox) == 1
    page = Client().get(unknown["Location"])
    assert b"If an account has that email address" in page.content


def test_account_pages_need_a_login(browser):
    for url in ("/account/", "/account/password/", "/account/delete/"):
        assert browser.get(url)["Location"].startswith("/login/")


def test_a_password_changed_on_the_web_refuses_the_access_tokens_already_issued(make_user):
    client, user = logged_in(make_user)
    api = APIClient()
    access = api.post("/api/auth/token/", {"username": user.username, "password": PASSWORD}).json()["access"]
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert api.get("/api/auth/me/").status_code == 200
    new = "Another-Horse-43!"
    changed = csrf_post(
        client, "/account/password/", {"old_password": PASSWORD, "new_password1": new, "new_password2": new}
    )
    assert changed.status_code == 200
    assert api.get("/api/auth/me/").status_code == 401


@override_settings(
    EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    PASSWORD_RESET_EMAIL_LIMIT=2,
    PASSWORD_RESET_IP_LIMIT=6,
)
def test_password_reset_requests_are_throttled_and_an_unknown_email_looks_the_same(make_user):
    make_user("ann", email="ann@example.com")
    answers = {}
    for email in ("ann@example.com", "who@example.com"):
        answers[email] = [
            csrf_post(Client(enforce_csrf_checks=True), "/password-reset/", {"email": email})
            for _ in range(3)
        ]
    # Per address asked about: the third request gets the same answer, and no third email.
    for responses in answers.values():
        assert [(r.status_code, r["Location"]) for r in responses] == [(302, "/password-reset/sent/")] * 3
    assert len(mail.outbox) == 2
    assert {m.to[0] for m in mail.outbox} == {"ann@example.com"}
    # Per client address: past six requests (any email) the page says so, for either email.
    for email in ("ann@example.com", "who@example.com"):
        refused = csrf_post(Client(enforce_csrf_checks=True), "/password-reset/", {"email": email})
        assert refused.status_code == 429
        assert int(refused["Retry-After"]) > 0
        assert b"Too many password-reset requests" in refused.content
    assert len(mail.outbox) == 2
