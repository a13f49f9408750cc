"""Settings are env-driven and production is secure by default."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({k: str(getattr(settings, k, None)) for k in "
    "['DEBUG', 'SESSION_COOKIE_SECURE', 'CSRF_COOKIE_SECURE', 'SECURE_HSTS_SECONDS', 'ALLOWED_HOSTS']}"
    " | {'db': settings.DATABASES['default']['ENGINE'], 'layer': settings.CHANNEL_LAYERS['default']['BACKEND'],"
    " 'storage': settings.STORAGES['default']['BACKEND']}))"
)


def probe(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "DEBUG", "SECRET_KEY"}
    }
    return subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=clean | {"DJANGO_SETTINGS_MODULE": "chatsite.settings"} | env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_embedded_default_needs_no_environment():
    result = probe()
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] == "True"
    assert values["db"] == "django.db.backends.sqlite3"
    assert values["layer"] == "channels.layers.InMemoryChannelLayer"
    assert values["storage"] == "django.core.files.storage.FileSystemStorage"


def test_production_refuses_to_start_without_secret_key():
    result = probe(DEBUG="false")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_is_secure_by_default_and_services_come_from_env():
    result = probe(
        DEBUG="false",
        SECRET_KEY="x" * 50,
        ALLOWED_HOSTS="chat.example.com",
        DATABASE_URL="postgres://u@db:5432/parley",
        REDIS_URL="redis://cache:6379/0",
        AWS_STORAGE_BUCKET_NAME="uploads",
        SECURE_HSTS_SECONDS="3600",
    )
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout)
    assert values["DEBUG"] == "False"
    assert values["SESSION_COOKIE_SECURE"] == values["CSRF_COOKIE_SECURE"] == "True"
    assert values["SECURE_HSTS_SECONDS"] == "3600"
    assert values["ALLOWED_HOSTS"] == "['chat.example.com']"
    assert values["db"] == "django.db.backends.postgresql"
    assert values["layer"] == "channels_redis.core.RedisChannelLayer"
    assert values["storage"] == "storages.backends.s3.S3Storage"


def test_production_sends_hsts_by_default():
    result = probe(DEBUG="false", SECRET_KEY="x" * 50)
    assert result.returncode == 0, result.stderr
    assert int(json.loads(result.stdout)["SECURE_HSTS_SECONDS"]) >= 31_536_000


@pytest.mark.django_db
def test_hsts_header_on_secure_responses_only(client, settings):
    settings.SECURE_HSTS_SECONDS = 31_536_000
    assert "max-age=31536000" in client.get("/login/", secure=True)["Strict-Transport-Security"]
    assert "Strict-Transport-Security" not in client.get("/login/")
