"""/healthz (liveness) and /readyz (the database and Redis answer), as a deployment probes them."""

import pytest
from django.test import override_settings

pytestmark = pytest.mark.django_db


def test_healthz_answers_without_a_session_or_the_database(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200 and response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


def test_readyz_reports_each_dependency(client, settings):
    response = client.get("/readyz")
    assert response.status_code == 200
    expected = {"ready": True, "database": "ok"} | ({"redis": "ok"} if settings.REDIS_URL else {})
    assert response.json() == expected


@override_settings(REDIS_URL="redis://127.0.0.1:1/0")
def test_readyz_is_503_naming_what_does_not_answer(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"ready": False, "database": "ok", "redis": "unavailable"}


def test_health_checks_take_only_get(client):
    assert client.post("/healthz").status_code == 405
    assert client.post("/readyz").status_code == 405


@override_settings(SECURE_SSL_REDIRECT=True)
def test_health_checks_are_not_redirected_to_https(client):
    assert client.get("/healthz").status_code == 200
    assert client.get("/rooms/").status_code == 301
