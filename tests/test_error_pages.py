"""Error pages in the site's look, also in DEBUG; /api/ points at the API's documentation."""

import json

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.views.defaults import permission_denied
from rest_framework.test import APIClient

from chatsite.views import RETRY_AFTER_S, server_error
from conftest import PASSWORD, free_port

pytestmark = pytest.mark.django_db

TECHNICAL = b"Using the URLconf"  # Django's DEBUG 404 page


@pytest.fixture
def client_in(make_user):
    client = Client()
    client.force_login(make_user("ann"))
    return client


@override_settings(DEBUG=True)
@pytest.mark.parametrize("path", ["/r/999999/", "/no/such/page/", "/rooms/999999/members/", "/rooms/a%0Ab/"])
def test_an_ordinary_404_is_the_sites_page_even_in_debug(client_in, path):
    response = client_in.get(path)
    assert response.status_code == 404
    assert TECHNICAL not in response.content
    assert b"Page not found" in response.content
    assert b'href="/"' in response.content  # a way back


@override_settings(DEBUG=True)
def test_append_slash_still_redirects(client_in):
    assert client_in.get("/rooms/new")["Location"] == "/rooms/new/"


def test_the_404_page_is_the_same_for_anonymous_visitors():
    response = Client().get("/no/such/page/")
    assert response.status_code == 404
    assert b"Page not found" in response.content


def _unhandled(path: str):
    """The error page of an exception nothing handled, as Django asks for it: inside the except."""
    try:
        raise RuntimeError("a bug")
    except RuntimeError:
        return server_error(RequestFactory().get(path))


def test_the_500_page_renders_without_a_request_context():
    response = _unhandled("/")
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"parley.css" in response.content  # the site's look


def test_the_500_page_still_answers_when_its_own_template_fails(tmp_path):
    """E.g. a deployment without collectstatic: {% static %} raises for want of the manifest.
    The plain page answers instead of an exception escaping the ASGI application."""
    storages = {
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"},
    }
    with override_settings(STORAGES=storages, STATIC_ROOT=tmp_path):
        response = _unhandled("/")
    assert response.status_code == 500
    assert b"<h1>Something went wrong</h1>" in response.content
    assert b"parley.css" not in response.content


def test_an_unhandled_api_error_answers_json():
    response = _unhandled("/api/rooms/")
    assert response.status_code == 500
    assert json.loads(response.content)["code"] == "server_error"


@pytest.fixture
def redis_down():
    """The shared cache on a Redis that refuses connections (a port nothing listens on): the
    real client, failing for real, as while Redis restarts."""
    location = f"redis://127.0.0.1:{free_port()}/0"
    with override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                               "LOCATION": location}}):  # fmt: skip
        yield


def test_a_service_that_does_not_answer_gets_503_and_retry_after_on_the_api(make_user, redis_down):
    client = APIClient(raise_request_exception=False)
    client.force_authenticate(make_user())
    response = client.post("/api/auth/ws-ticket/")  # its rate limit lives in the shared cache
    assert response.status_code == 503
    assert response.json()["code"] == "unavailable"
    assert response["Retry-After"] == str(RETRY_AFTER_S)


def test_a_service_that_does_not_answer_gets_the_503_page(make_user, redis_down):
    make_user("ann")
    client = Client(raise_request_exception=False)
    response = client.post("/login/", {"username": "ann", "password": PASSWORD})  # throttled in the cache
    assert response.status_code == 503
    assert b"briefly unavailable" in response.content
    assert response["Retry-After"] == str(RETRY_AFTER_S)


def test_the_403_page():
    response = permission_denied(RequestFactory().get("/"), PermissionDenied())
    assert response.status_code == 403
    assert b"Not allowed" in response.content


def test_api_root_links_to_the_docs(api):
    response = api.get("/api/")
    assert response.status_code == 200
    body = response.json()
    assert body["docs"].endswith(reverse("api-docs"))
    assert body["schema"].endswith(reverse("schema"))


@pytest.mark.parametrize("path", ["/api/nothing/here/", "/api/rooms/%0A/", "/api/rooms/a%0Ab/members/1/"])
def test_unknown_api_paths_stay_json(api, path):
    """Also with a newline in the path (schemathesis found Django's HTML 404 there)."""
    response = api.get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


# --- API error bodies: a message for people and a code for programs, always -------------------


def test_invalid_input_names_the_first_problem_and_keeps_every_message_by_field(auth_api, make_room):
    client = auth_api()
    response = client.post("/api/rooms/", {"kind": "nonsense"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert set(body) == {"detail", "code", "fields"}
    assert set(body["fields"]) == {"name", "kind"}
    first = next(iter(body["fields"]))
    assert body["detail"] == f"{first}: {body['fields'][first][0]}"
    assert body["code"] == {"name": "required", "kind": "invalid_choice"}[first]


def test_a_domain_error_about_a_field_keeps_its_own_code(auth_api, make_user, make_room):
    ann = make_user("ann")
    room = make_room(ann)
    response = auth_api(ann).patch(f"/api/rooms/{room.id}/", {"name": "\u200b"}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid_room" and body["detail"]
    assert body["fields"] == {"name": [body["detail"]]}


def test_a_body_that_is_not_an_object_is_invalid_input_as_a_whole(auth_api, make_user, make_room):
    ann = make_user("ann")
    room = make_room(ann)
    response = auth_api(ann).post(f"/api/rooms/{room.id}/messages/", [1, 2], format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] and body["detail"] and "non_field_errors" in body["fields"]
