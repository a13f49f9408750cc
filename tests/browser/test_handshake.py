"""What a real Chromium sends when it opens a WebSocket, against what the benchmark's client sends.

The benchmark must open sockets the way browsers do (permessage-deflate offered, or the server's
memory and CPU per socket are measured for a client nobody uses). A plain TCP listener records
the upgrade request of ``new WebSocket(...)`` in headless Chromium; the benchmark client's offer
must be the same.
"""

from __future__ import annotations

import socket
import threading

import pytest

from bench import wsclient
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require_chromium

pytestmark = pytest.mark.browser


def _record_one_request(listener: socket.socket, into: list[bytes]) -> None:
    connection, _ = listener.accept()
    with connection:
        connection.settimeout(10)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = connection.recv(4096)
            if not chunk:
                break
            data += chunk
        into.append(data)


def _headers(request: bytes) -> dict[str, str]:
    lines = request.decode("latin1").split("\r\n")[1:]
    return {
        name.strip().lower(): value.strip()
        for name, _, value in (line.partition(":") for line in lines if line)
    }


def test_benchmark_client_offers_what_chromium_offers():
    require_chromium()
    from playwright.sync_api import sync_playwright

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    requests: list[bytes] = []
    recorder = threading.Thread(target=_record_one_request, args=(listener, requests), daemon=True)
    recorder.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page()
            page.evaluate("port => { window.socket = new WebSocket(`ws://127.0.0.1:${port}/ws/`); }", port)
            recorder.join(15)
            browser.close()
    finally:
        listener.close()
    assert requests, "Chromium never connected"
    headers = _headers(requests[0])
    assert headers["upgrade"].lower() == "websocket"
    assert headers["sec-websocket-extensions"] == wsclient.DEFLATE_OFFER
