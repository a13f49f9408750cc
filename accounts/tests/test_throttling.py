"""Throttling of log-ins, registrations and WebSocket tickets (scheme: accounts/throttling.py)."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory, override_settings

from accounts import throttling
from accounts.models import User
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _one_window(settings):
    """Counts here are exact: the sliding window weighs the previous window's failures by how
    much of it still overlaps, so a test whose failures straddle a window boundary would count
    a fraction less (chatsite.ratelimit). A window of days makes that practically impossible."""
    settings.LOGIN_THROTTLE_WINDOW = 10**6


def token(api, username: str, password: str, **extra: str):
    return api.post("/api/auth/token/", {"username": username, "password": password}, format="json", **extra)


def web_login(client: Client, username: str, password: str, **extra: str):
    return client.post("/login/", {"username": username, "password": password}, **extra)


# --- whose address counts ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("peer", "forwarded", "real_ip", "trusted", "expected"),
    [
        ("203.0.113.5", "198.51.100.1", "198.51.100.2", [], "203.0.113.5"),  # no proxy configured
        ("203.0.113.5", "198.51.100.1", "", ["10.0.0.1"], "203.0.113.5"),  # the peer is not our proxy
        ("10.0.0.1", "198.51.100.1", "", ["10.0.0.1"], "198.51.100.1"),
        ("10.0.0.1", "6.6.6.6, 198.51.100.1", "", ["10.0.0.0/8"], "198.51.100.1"),  # spoofed left part
        ("10.0.0.2", "198.51.100.1, 10.0.0.7", "", ["10.0.0.0/8"], "198.51.100.1"),  # two of our proxies
        ("10.0.0.1", "", "198.51.100.3", ["10.0.0.1"], "198.51.100.3"),
        ("10.0.0.1", "not-an-ip", "", ["10.0.0.1"], "not-an-ip"),  # still one key per claimed client
    ],
)
def test_client_ip_believes_forwarded_headers_only_from_configured_proxies(
    settings, peer, forwarded, real_ip, trusted, expected
):
    settings.TRUSTED_PROXIES = trusted
    request = RequestFactory().get(
        "/", REMOTE_ADDR=peer, HTTP_X_FORWARDED_FOR=forwarded, HTTP_X_REAL_IP=real_ip
    )
    assert throttling.client_ip(request) == expected


@override_settings(LOGIN_THROTTLE_IP_ATTEMPTS=3, LOGIN_THROTTLE_ATTEMPTS=100, DEBUG=False)
def test_forged_forwarded_headers_do_not_reset_the_per_ip_budget(api, make_user):
    make_user("alice")
    for n in range(3):
        token(api, f"nobody{n}", "x", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", HTTP_X_REAL_IP=f"192.0.2.{n}")
    blocked = token(api, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99", HTTP_X_REAL_IP="192.0.2.99")
    assert blocked.status_code == 429


@override_settings(LOGIN_THROTTLE_IP_ATTEMPTS=3, LOGIN_THROTTLE_ATTEMPTS=100, DEBUG=False)
def test_forged_forwarded_headers_do_not_reset_the_web_forms_per_ip_budget(make_user):
    make_user("alice")
    client = Client()
    for n in range(3):
        web_login(
            client, f"nobody{n}", "x", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}", HTTP_X_REAL_IP=f"192.0.2.{n}"
        )
    blocked = web_login(client, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert blocked.status_code == 429


@override_settings(
    LOGIN_THROTTLE_IP_ATTEMPTS=3, LOGIN_THROTTLE_ATTEMPTS=100, DEBUG=False, TRUSTED_PROXIES=["127.0.0.1"]
)
def test_behind_a_configured_proxy_each_forwarded_client_has_its_own_budget(api, make_user):
    """The other side of the rule: from our own proxy (the test client's 127.0.0.1), the
    forwarded address is the client, so one client's failures do not block another's log-in."""
    make_user("alice")
    for n in range(3):
        token(api, f"nobody{n}", "x", HTTP_X_FORWARDED_FOR="198.51.100.1")
    assert token(api, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert token(api, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.2").status_code == 200
    web = Client()
    assert web_login(web, "alice", "x", HTTP_X_FORWARDED_FOR="198.51.100.1").status_code == 429
    assert web_login(web, "alice", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.3").status_code == 302


# --- one normalisation for the lookup and its budget ---------------------------------------


@pytest.mark.parametrize(
    ("typed", "canonical"),
    [("Sam", "sam"), (" SAM ", "sam"), ("ſam", "~sam"), ("\u212aate", "~kate"), ("sam\n", "sam"), ("", "~")],
)
def test_canonical_username(typed, canonical):
    from accounts.models import canonical_username

    assert canonical_username(typed) == canonical


def test_look_alike_spellings_name_no_account(api, make_user):
    """Before: PostgreSQL's UPPER('ſam') is 'SAM', so 'ſam' logged in as sam, with a throttling
    budget of its own (Python lower-cased it differently)."""
    make_user("sam")
    make_user("kate")
    assert token(api, "SAM", PASSWORD).status_code == 200
    assert token(api, "ſam", PASSWORD).status_code == 401
    assert token(api, "\u212aate", PASSWORD).status_code == 401  # Kelvin sign
    with pytest.raises(User.DoesNotExist):
        User.objects.get_by_natural_key("ſam")


@override_settings(LOGIN_THROTTLE_ATTEMPTS=3)
def test_case_variants_of_a_username_share_one_budget(api, make_user):
    make_user("sam")
    for typed in ("sam", "SAM", "Sam"):
        assert token(api, typed, "wrong").status_code == 401
    assert token(api, "sAm", PASSWORD).status_code == 429


# --- slowing an attacker without locking the owner out --------------------------------------


@override_settings(LOGIN_THROTTLE_ATTEMPTS=3, LOGIN_THROTTLE_USER_CEILING=1000)
def test_guessing_from_one_address_does_not_lock_the_owner_out_elsewhere(api, make_user):
    make_user("victim")
    for _ in range(3):
        token(api, "victim", "guess", REMOTE_ADDR="203.0.113.66")
    assert token(api, "victim", PASSWORD, REMOTE_ADDR="203.0.113.66").status_code == 429
    assert token(api, "victim", PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 200


@override_settings(LOGIN_THROTTLE_ATTEMPTS=100, LOGIN_THROTTLE_IP_ATTEMPTS=100, LOGIN_THROTTLE_USER_CEILING=5)
def test_distributed_guessing_hits_the_ceiling_but_a_known_browser_still_logs_in(make_user):
    make_user("victim")
    owner_browser = Client(REMOTE_ADDR="198.51.100.7")
    assert web_login(owner_browser, "victim", PASSWORD).status_code == 302  # leaves the device cookie
    owner_browser.post("/logout/")
    for n in range(5):  # five attackers, one guess each
        assert web_login(Client(REMOTE_ADDR=f"203.0.113.{n}"), "victim", "guess").status_code == 400
    assert web_login(Client(REMOTE_ADDR="192.0.2.1"), "victim", PASSWORD).status_code == 429
    assert web_login(owner_browser, "victim", PASSWORD).status_code == 302
    owner_browser.post("/logout/")
    # The cookie names one account: it lifts the ceiling for no other.
    make_user("other")
    for n in range(5):
        web_login(Client(REMOTE_ADDR=f"203.0.113.{n}"), "other", "guess")
    assert web_login(owner_browser, "other", PASSWORD).status_code == 429


@override_settings(LOGIN_THROTTLE_ATTEMPTS=3)
def test_a_successful_login_resets_the_failure_count(api, make_user):
    make_user("sam")
    for _ in range(2):
        token(api, "sam", "typo")
    assert token(api, "sam", PASSWORD).status_code == 200
    for _ in range(2):  # two more typos would be four in a row without the reset
        assert token(api, "sam", "typo").status_code == 401
    assert token(api, "sam", PASSWORD).status_code == 200


@override_settings(LOGIN_THROTTLE_ATTEMPTS=2)
def test_web_login_success_resets_the_failure_count(make_user):
    make_user("sam")
    browser = Client()
    assert web_login(browser, "sam", "typo").status_code == 400
    assert web_login(browser, "sam", PASSWORD).status_code == 302
    browser.post("/logout/")
    assert web_login(browser, "sam", "typo").status_code == 400
    assert web_login(browser, "sam", PASSWORD).status_code == 302


# --- registrations and tickets ---------------------------------------------------------------


@override_settings(REGISTER_RATE_LIMIT=3)
def test_registrations_are_limited_per_address(api):
    for n in range(3):
        assert (
            api.post("/api/auth/register/", {"username": f"new{n}", "password": PASSWORD}).status_code == 201
        )
    refused = api.post("/api/auth/register/", {"username": "new9", "password": PASSWORD})
    assert refused.status_code == 429 and refused["Retry-After"]
    assert not User.objects.filter(username="new9").exists()
    other = api.post(
        "/api/auth/register/", {"username": "new9", "password": PASSWORD}, REMOTE_ADDR="198.51.100.9"
    )
    assert other.status_code == 201


@override_settings(REGISTER_RATE_LIMIT=1)
def test_web_registration_is_limited_per_address():
    form = {"username": "webby", "password1": PASSWORD, "password2": PASSWORD}
    assert Client().post("/register/", form).status_code == 302
    refused = Client().post("/register/", form | {"username": "webby2"})
    assert refused.status_code == 429 and b"Too many registrations" in refused.content
    assert not User.objects.filter(username="webby2").exists()


@override_settings(WS_TICKET_RATE_LIMIT=5)
def test_ws_tickets_are_limited_per_user(auth_api, make_user):
    client = auth_api(make_user("sam"))
    assert [client.post("/api/auth/ws-ticket/").status_code for _ in range(6)] == [201] * 5 + [429]
    assert auth_api(make_user("kim")).post("/api/auth/ws-ticket/").status_code == 201
