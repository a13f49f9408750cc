"""Uploads go to S3 through django-storages, tested against a real S3 API (moto in server mode)."""

from __future__ import annotations

import urllib.request

import boto3
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from conftest import s3_storages

pytestmark = pytest.mark.server


def test_default_storage_round_trips_through_s3(s3_bucket):
    endpoint, bucket = s3_bucket
    with override_settings(STORAGES=s3_storages(endpoint, bucket)):
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
    objects = boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=bucket)
    assert [o["Key"] for o in objects.get("Contents", [])] == [again]
