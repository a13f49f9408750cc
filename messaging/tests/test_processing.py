"""Image work runs in low-priority worker processes, and a worker's death fails only its upload."""

from __future__ import annotations

import io
import os
from concurrent.futures.process import BrokenProcessPool

import pytest
from PIL import Image

from messaging import processing
from messaging.exceptions import InvalidUpload


def _jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), "teal").save(out, "JPEG")
    return out.getvalue()


def _die() -> None:
    os._exit(3)


def test_images_are_processed_in_another_process_at_a_lower_priority(settings):
    pool = processing._executor()
    assert pool.submit(os.getpid).result() != os.getpid()
    assert pool.submit(os.nice, 0).result() == min(19, os.nice(0) + settings.UPLOAD_NICE)
    found = processing.inspect(_jpeg(), max_pixels=10**6)
    assert (found.content_type, found.width, found.height) == ("image/jpeg", 64, 48)
    assert found.thumbnail is not None


def test_a_worker_that_dies_fails_its_upload_and_the_next_upload_gets_a_new_pool():
    pool = processing._executor()
    with pytest.raises(BrokenProcessPool):
        pool.submit(_die).result()
    # The pool is broken now; an upload arriving after that is not refused for it.
    assert processing.inspect(_jpeg(), max_pixels=10**6).width == 64
    assert processing._executor() is not pool


def test_an_upload_whose_worker_dies_gets_a_clear_error(monkeypatch):
    monkeypatch.setattr(processing, "_inspect", _die_inspecting)
    with pytest.raises(InvalidUpload) as refused:
        processing.inspect(_jpeg(), max_pixels=10**6)
    assert refused.value.detail == "The file could not be processed."
    monkeypatch.undo()
    assert processing.inspect(_jpeg(), max_pixels=10**6).width == 64


def _die_inspecting(data: bytes, max_pixels: int) -> None:
    os._exit(3)
