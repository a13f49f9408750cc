"""Error pages in the site's look, also in DEBUG; /api/ points at the API's documentation."""

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client, RequestFactory, override_settings
from django.urls import reverse
from django.views.defaults import permission_denied, server_error

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


def test_the_500_page_renders_without_a_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert b"Something went wrong" in response.content
    assert b"parley.css" in response.content  # the site's look


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
