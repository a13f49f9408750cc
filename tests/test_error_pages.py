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
@pytest.mark.parametrize("path", ["/r/999999/", "/no/such/page/", "/rooms/999999/members/"])
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


def test_unknown_api_paths_stay_json(api):
    response = api.get("/api/nothing/here/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found.", "code": "not_found"}
