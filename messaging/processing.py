"""Image work off the delivery path: a small pool of low-priority worker processes.

Decoding, re-encoding and thumbnailing a 12-megapixel photo costs a quarter of a second of CPU.
Done in the request's thread it competed, core for core, with the event loop that delivers
messages: five users uploading at once pushed the fan-out room's p99 from tens of milliseconds
to seconds (bench/RESULTS.md, uploads). Here each server process hands that work to at most
``UPLOAD_WORKERS`` worker processes whose scheduling priority is lowered by ``UPLOAD_NICE``, so
the kernel runs delivery first and uploads take what CPU is left; uploads beyond the pool's size
wait their turn instead of adding load. A worker that dies (a file that crashes the decoder, the
memory limit) fails the uploads it was working on, not the server process; the next upload gets
a new pool.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from django.conf import settings

from messaging import media
from messaging.exceptions import InvalidUpload

_lock = threading.Lock()
_pool: ProcessPoolExecutor | None = None


def _lower_priority(nice: int) -> None:
    os.nice(nice)


def _inspect(data: bytes, max_pixels: int) -> media.Inspected:
    return media.inspect(io.BytesIO(data), max_pixels=max_pixels)


def _executor() -> ProcessPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            # spawn: a fork of a server process would copy its event loop, threads and sockets.
            _pool = ProcessPoolExecutor(
                max_workers=settings.UPLOAD_WORKERS,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_lower_priority,
                initargs=(settings.UPLOAD_NICE,),
            )
        return _pool


def _discard(broken: ProcessPoolExecutor) -> None:
    global _pool
    with _lock:
        if _pool is broken:
            _pool = None
    broken.shutdown(wait=False, cancel_futures=True)


def inspect(data: bytes, *, max_pixels: int) -> media.Inspected:
    """``media.inspect`` of ``data``, run in the pool; blocks the calling (worker) thread only.

    Raises InvalidUpload when the worker died on this file."""
    pool = _executor()
    try:
        future = pool.submit(_inspect, data, max_pixels)
    except BrokenProcessPool:  # broken by an earlier upload: this one gets a new pool
        _discard(pool)
        pool = _executor()
        future = pool.submit(_inspect, data, max_pixels)
    try:
        return future.result()
    except BrokenProcessPool:
        _discard(pool)
        raise InvalidUpload("The file could not be processed.", field="file") from None
