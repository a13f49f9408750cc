"""Uploads go to S3 through django-storages, tested against a real S3 API (moto in server mode)."""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from conftest import ARTIFACTS, free_port, wait_for_port

pytestmark = pytest.mark.server

BUCKET = "parley-uploads"


@pytest.fixture
def s3_endpoint(monkeypatch):
    port = free_port()
    log = (ARTIFACTS / f"moto-{port}.log").open("wb")
    moto_server = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(moto_server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    try:
        wait_for_port(port, proc)
        for name, value in {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(name, value)
        endpoint = f"http://127.0.0.1:{port}"
        boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def s3_storages(endpoint: str) -> dict:
    from django.conf import settings

    return settings.STORAGES | {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": BUCKET,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
            },
        }
    }


def test_default_storage_round_trips_through_s3(s3_endpoint):
    with override_settings(STORAGES=s3_storages(s3_endpoint)):
        storage = storages["default"]
        name = storage.save("uploads/hello.txt", ContentFile(b"hello parley"))
        again = storage.save("uploads/hello.txt", ContentFile(b"second"))
        assert again != name  # never overwrites another upload
        with storage.open(name) as handle:
            assert handle.read() == b"hello parley"
        # Signed URLs work against the S3 endpoint itself.
        url = storage.url(name)
        assert "Signature" in url or "X-Amz-Signature" in url
        assert urllib.request.urlopen(url, timeout=10).read() == b"hello parley"
        storage.delete(name)
        assert not storage.exists(name)
    objects = boto3.client("s3", endpoint_url=s3_endpoint).list_objects_v2(Bucket=BUCKET)
    assert [o["Key"] for o in objects.get("Contents", [])] == [again]
