import pytest
from django.test import Client, override_settings

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
