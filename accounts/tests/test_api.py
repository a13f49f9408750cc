import pytest
from django.test import override_settings

from accounts.models import User
from conftest import PASSWORD

pytestmark = pytest.mark.django_db


def register(api, **data):
    return api.post("/api/auth/register/", data, format="json")


def test_register_creates_user(api):
    response = register(api, username="Alice", password=PASSWORD, email="a@example.com")
    assert response.status_code == 201
    assert response.json() == {"id": User.objects.get().id, "username": "Alice"}
    assert User.objects.get().check_password(PASSWORD)


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"password": PASSWORD}, "username"),
        ({"username": "bob"}, "password"),
        ({"username": "bob", "password": "123"}, "password"),
        ({"username": "bob", "password": "password"}, "password"),
        ({"username": "b", "password": PASSWORD}, "username"),
        ({"username": "bad name!", "password": PASSWORD}, "username"),
        ({"username": "x" * 33, "password": PASSWORD}, "username"),
        ({"username": "bob", "password": PASSWORD, "email": "nope"}, "email"),
    ],
)
def test_register_rejects_invalid_input_and_writes_nothing(api, data, field):
    response = register(api, **data)
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert not User.objects.exists()


def test_register_rejects_duplicate_username_in_any_case(api, make_user):
    make_user("alice")
    response = register(api, username="ALICE", password=PASSWORD)
    assert response.status_code == 400
    assert response.json()["fields"]["username"] == ["That username is taken."]
    assert User.objects.count() == 1


def test_token_refresh_rotates_and_blacklists(api, make_user):
    make_user("alice")
    tokens = api.post("/api/auth/token/", {"username": "Alice", "password": PASSWORD}, format="json").json()
    assert set(tokens) == {"access", "refresh"}

    api.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api.get("/api/auth/me/").json()["username"] == "alice"
    api.credentials()

    rotated = api.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != tokens["refresh"]
    reused = api.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json")
    assert reused.status_code == 401


def test_logout_blacklists_refresh_token(api, make_user):
    make_user("alice")
    tokens = api.post("/api/auth/token/", {"username": "alice", "password": PASSWORD}, format="json").json()
    assert api.post("/api/auth/logout/", {"refresh": tokens["refresh"]}, format="json").status_code == 205
    assert (
        api.post("/api/auth/token/refresh/", {"refresh": tokens["refresh"]}, format="json").status_code == 401
    )
    assert api.post("/api/auth/logout/", {"refresh": "garbage"}, format="json").status_code == 400
    assert api.post("/api/auth/logout/", {}, format="json").status_code == 400


def test_token_with_wrong_password_or_missing_fields(api, make_user):
    make_user("alice")
    assert (
        api.post("/api/auth/token/", {"username": "alice", "password": "wrong"}, format="json").status_code
        == 401
    )
    missing = api.post("/api/auth/token/", {"username": "alice"}, format="json")
    assert missing.status_code == 400
    assert "password" in missing.json()["fields"]


@override_settings(LOGIN_THROTTLE_ATTEMPTS=3)
def test_token_endpoint_throttles_failures_per_username(api, make_user):
    make_user("alice")
    for _ in range(3):
        assert (
            api.post("/api/auth/token/", {"username": "alice", "password": "x"}, format="json").status_code
            == 401
        )
    blocked = api.post("/api/auth/token/", {"username": "ALICE", "password": PASSWORD}, format="json")
    assert blocked.status_code == 429
    assert blocked["Retry-After"]


@override_settings(LOGIN_THROTTLE_IP_ATTEMPTS=3)
def test_token_endpoint_throttles_failures_per_ip(api, make_user):
    make_user("carol")
    for name in ("a1", "a2", "a3"):
        api.post("/api/auth/token/", {"username": name, "password": "x"}, format="json")
    assert (
        api.post("/api/auth/token/", {"username": "carol", "password": PASSWORD}, format="json").status_code
        == 429
    )
    other_ip = api.post(
        "/api/auth/token/", {"username": "carol", "password": PASSWORD}, format="json", REMOTE_ADDR="10.0.0.9"
    )
    assert other_ip.status_code == 200


def test_me_requires_authentication(api):
    assert api.get("/api/auth/me/").status_code == 401


def test_errors_about_the_whole_request_carry_a_code(api, auth_api):
    anonymous = api.get("/api/auth/me/")
    assert anonymous.json() == {"detail": anonymous.json()["detail"], "code": "not_authenticated"}
    bad_token = api.get("/api/auth/me/", HTTP_AUTHORIZATION="Bearer nope")
    assert (bad_token.status_code, bad_token.json()["code"]) == (401, "token_not_valid")
    unparsable = auth_api().post("/api/rooms/", "{", content_type="application/json")
    assert (unparsable.status_code, unparsable.json()["code"]) == (400, "parse_error")


def test_user_search_by_prefix_is_case_insensitive_and_capped(auth_api, make_user):
    for i in range(25):
        make_user(f"Sam{i:02d}")
    make_user("other")
    client = auth_api(make_user("zed"))
    page = client.get("/api/users/?search=sam").json()
    assert page["count"] == 25
    assert len(page["results"]) == 20
    assert all(u["username"].startswith("Sam") for u in page["results"])
    assert client.get("/api/users/?search=sam&page_size=100").json()["results"].__len__() == 20
    assert client.get("/api/users/?search=s_m").json()["count"] == 0


def test_user_search_rejects_overlong_prefix(auth_api):
    assert auth_api().get("/api/users/?search=" + "a" * 40).status_code == 400


def test_ws_ticket_requires_authentication(api, auth_api):
    assert api.post("/api/auth/ws-ticket/").status_code == 401
    response = auth_api().post("/api/auth/ws-ticket/")
    assert response.status_code == 201
    assert len(response.json()["ticket"]) >= 32


def test_schema_is_served(auth_api):
    response = auth_api().get("/api/schema/")
    assert response.status_code == 200
    assert b"/api/auth/ws-ticket/" in response.content


def login_tokens(api, username: str, password: str = PASSWORD) -> dict:
    return api.post("/api/auth/token/", {"username": username, "password": password}, format="json").json()


def test_me_patch_changes_the_profile(auth_api, make_user):
    user = make_user("ann")
    response = auth_api(user).patch(
        "/api/auth/me/", {"display_name": " Ann Smith ", "theme": "dark"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["display_name"] == "Ann Smith"
    assert response.json()["theme"] == "dark"
    assert response.json()["username"] == "ann"
    user.refresh_from_db()
    assert (user.display_name, user.theme) == ("Ann Smith", "dark")


def test_me_patch_appear_offline(auth_api, make_user):
    user = make_user("ann")
    response = auth_api(user).patch("/api/auth/me/", {"appear_offline": True}, format="json")
    assert response.status_code == 200
    assert response.json()["appear_offline"] is True and response.json()["last_seen"]
    user.refresh_from_db()
    assert user.appear_offline


@pytest.mark.parametrize(
    "data",
    [
        {"appear_offline": "maybe"},
        {"appear_offline": None},
        {"display_name": "x" * 10_000},
        {"display_name": "\u200b\u200b"},
        {"display_name": "ok", "theme": "neon"},
        {"display_name": "ok", "email": "nope"},
        {"username": "renamed", "display_name": "\u2060"},
    ],
)
def test_me_patch_refuses_bad_input_and_stores_nothing(auth_api, make_user, data):
    user = make_user("ann", display_name="Ann")
    response = auth_api(user).patch("/api/auth/me/", data, format="json")
    assert response.status_code == 400
    assert set(response.json()["fields"]) <= {"display_name", "theme", "email", "appear_offline"}
    user.refresh_from_db()
    assert (user.username, user.display_name, user.theme) == ("ann", "Ann", "system")
    assert not user.appear_offline


def test_password_change_revokes_every_refresh_token_and_answers_a_new_pair(api, make_user):
    make_user("ann")
    first, second = login_tokens(api, "ann"), login_tokens(api, "ann")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {first['access']}")
    response = api.post(
        "/api/auth/password/", {"old_password": PASSWORD, "new_password": "Another-Horse-43!"}, format="json"
    )
    assert response.status_code == 200
    fresh = response.json()
    api.credentials()
    for old in (first, second):
        refused = api.post("/api/auth/token/refresh/", {"refresh": old["refresh"]}, format="json")
        assert refused.status_code == 401
    assert (
        api.post("/api/auth/token/refresh/", {"refresh": fresh["refresh"]}, format="json").status_code == 200
    )
    assert set(login_tokens(api, "ann", "Another-Horse-43!")) == {"access", "refresh"}


def test_password_change_with_a_wrong_old_password_is_refused(auth_api, make_user):
    user = make_user("ann")
    response = auth_api(user).post(
        "/api/auth/password/", {"old_password": "guess", "new_password": "Another-Horse-43!"}, format="json"
    )
    assert response.status_code == 400
    assert "old_password" in response.json()["fields"]
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_access_tokens_issued_before_a_password_change_are_refused_at_once(api, make_user):
    make_user("ann")
    before = login_tokens(api, "ann")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {before['access']}")
    assert api.get("/api/auth/me/").status_code == 200
    changed = api.post(
        "/api/auth/password/", {"old_password": PASSWORD, "new_password": "Another-Horse-43!"}, format="json"
    )
    assert changed.status_code == 200
    # Still well within its 15 minutes, but issued under the old password.
    refused = api.get("/api/auth/me/")
    assert refused.status_code == 401
    assert refused.json()["code"] == "password_changed"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {changed.json()['access']}")
    assert api.get("/api/auth/me/").status_code == 200
    refreshed = api.post("/api/auth/token/refresh/", {"refresh": changed.json()["refresh"]}, format="json")
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {refreshed.json()['access']}")
    assert api.get("/api/auth/me/").status_code == 200


def test_me_patch_sets_the_time_zone_and_clock_and_refuses_unknown_ones(auth_api, make_user):
    user = make_user("ann")
    client = auth_api(user)
    assert (client.get("/api/auth/me/").json()["time_zone"], client.get("/api/auth/me/").json()["clock"]) == (
        "",
        "auto",
    )
    response = client.patch("/api/auth/me/", {"time_zone": "Asia/Kolkata", "clock": "12"}, format="json")
    assert response.status_code == 200
    assert (response.json()["time_zone"], response.json()["clock"]) == ("Asia/Kolkata", "12")
    for bad in ({"time_zone": "Mars/Olympus_Mons"}, {"time_zone": "x" * 65}, {"clock": "13"}):
        refused = client.patch("/api/auth/me/", {**bad, "display_name": "Changed"}, format="json")
        assert refused.status_code == 400
        assert set(refused.json()["fields"]) >= set(bad)
    user.refresh_from_db()
    assert (user.time_zone, user.clock, user.display_name) == ("Asia/Kolkata", "12", "")
    assert client.patch("/api/auth/me/", {"time_zone": ""}, format="json").json()["time_zone"] == ""
