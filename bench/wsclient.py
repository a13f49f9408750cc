"""A lean asyncio WebSocket and HTTP client for the load generator.

The load generator shares the machine with the servers, so every microsecond it spends per
received frame is taken from them. A stock client (``websockets``) costs tens of µs per frame;
at 40k frames/s that alone would saturate a core. This client parses frames straight out of
the transport's buffer, timestamps a whole TCP read once, and hands raw payload bytes to a
callback: a few µs per frame. It speaks enough RFC 6455 for the benchmark: text frames,
masked client frames, ping → pong, close.

Like every browser it offers ``permessage-deflate`` (RFC 7692), with Chromium's exact offer
(``DEFLATE_OFFER``; tests/browser/test_handshake.py records what Chromium sends and compares).
If the server accepts, compressed frames (RSV1) are inflated before the callback sees them;
the client itself sends uncompressed frames, which the extension allows. ``OFFER_DEFLATE =
False`` (``python -m bench --no-deflate``) opens sockets as the benchmark did before.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import struct
import time
import zlib
from collections.abc import Callable
from typing import Any

from websockets.frames import apply_mask

FrameHandler = Callable[["WsClient", bytes, float], None]

DEFLATE_OFFER = "permessage-deflate; client_max_window_bits"  # what Chromium sends
OFFER_DEFLATE = True


def _ignore(client: WsClient, payload: bytes, now: float) -> None:
    pass


class WsClient(asyncio.Protocol):
    def __init__(self, handler: FrameHandler = _ignore) -> None:
        self.handler = handler
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.upgraded = False
        self.closed = False
        self.handshake: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.first_frame: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self.tag: Any = None  # whatever the scenario wants to know the socket by
        self.deflate: str | None = None  # the server's permessage-deflate answer, if it accepted
        self.inflater: Any = None
        self.inflate_bits = 15
        self.keep_context = True
        self.wire_bytes = 0  # bytes of frames received after the handshake
        self.leftover = 0

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        for future in (self.handshake, self.first_frame):
            if not future.done():
                future.set_exception(ConnectionError("connection lost"))
                future.exception()  # mark retrieved: no one may be waiting for this one

    def data_received(self, data: bytes) -> None:
        now = time.time()
        buf = self.buffer
        buf += data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(buf[:end])
            status_line = head[: head.find(b"\r\n")]
            del buf[: end + 4]
            if b" 101 " not in status_line:
                if not self.handshake.done():  # the caller may have given up waiting (cancelled)
                    self.handshake.set_exception(ConnectionError(status_line.decode("latin1")))
                self.transport.close()
                return
            self._accept_extensions(head)
            self.upgraded = True
            if not self.handshake.done():
                self.handshake.set_result(None)
        pos = 0
        size = len(buf)
        self.wire_bytes += size - self.leftover
        handler = self.handler
        while size - pos >= 2:
            b0 = buf[pos]
            length = buf[pos + 1] & 0x7F
            start = pos + 2
            if length == 126:
                if size - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                start = pos + 4
            elif length == 127:
                if size - pos < 10:
                    break
                (length,) = struct.unpack_from("!Q", buf, pos + 2)
                start = pos + 10
            end = start + length
            if end > size:
                break
            payload = bytes(buf[start:end])
            pos = end
            opcode = b0 & 0x0F
            if b0 & 0x40:  # RSV1: a compressed message (servers here never fragment)
                payload = self._inflate(payload)
            if opcode == 0x1:
                if not self.first_frame.done():
                    self.first_frame.set_result(payload)
                else:
                    handler(self, payload, now)
            elif opcode == 0x9:
                self._send_frame(0xA, payload)
            elif opcode == 0x8:
                self.closed = True
                self.transport.close()
                return
        if pos:
            del buf[:pos]
        self.leftover = len(buf)  # counted already; the next read adds only what is new

    def _accept_extensions(self, head: bytes) -> None:
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() != b"sec-websocket-extensions":
                continue
            answer = value.decode("latin1").strip()
            if not answer.startswith("permessage-deflate"):
                continue
            self.deflate = answer
            params = {p.split("=")[0].strip(): p.partition("=")[2].strip() for p in answer.split(";")[1:]}
            self.inflate_bits = int(params.get("server_max_window_bits") or 15)
            self.keep_context = "server_no_context_takeover" not in params
            self.inflater = zlib.decompressobj(-self.inflate_bits)

    def _inflate(self, payload: bytes) -> bytes:
        if not self.keep_context:
            self.inflater = zlib.decompressobj(-self.inflate_bits)
        return self.inflater.decompress(payload + b"\x00\x00\xff\xff")

    # -- sending ----------------------------------------------------------------------------------

    def _send_frame(self, opcode: int, payload: bytes) -> None:
        if self.closed or self.transport is None or self.transport.is_closing():
            return
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        self.transport.write(header + mask + apply_mask(payload, mask))

    def send_text(self, text: str) -> None:
        self._send_frame(0x1, text.encode())

    def send_json(self, frame: dict[str, Any]) -> None:
        self.send_text(json.dumps(frame, separators=(",", ":")))

    def close(self) -> None:
        if not self.closed:
            self._send_frame(0x8, struct.pack("!H", 1000))
            self.closed = True
        if self.transport is not None:
            self.transport.close()


async def ws_connect(
    host: str, port: int, path: str, handler: FrameHandler = _ignore, *, wait_first_frame: bool = True
) -> tuple[WsClient, bytes | None]:
    """Open a WebSocket; with ``wait_first_frame``, also wait for the server's first text frame
    (Parley's ``hello``) and return it."""
    loop = asyncio.get_running_loop()
    _, client = await loop.create_connection(lambda: WsClient(handler), host, port)
    key = base64.b64encode(os.urandom(16)).decode()
    offer = f"Sec-WebSocket-Extensions: {DEFLATE_OFFER}\r\n" if OFFER_DEFLATE else ""
    client.transport.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{offer}\r\n"
        ).encode()
    )
    await client.handshake
    first = await client.first_frame if wait_first_frame else None
    return client, first


# --- HTTP --------------------------------------------------------------------------------------


class HttpError(Exception):
    def __init__(self, status: int, body: bytes) -> None:
        super().__init__(f"HTTP {status}: {body[:300]!r}")
        self.status = status
        self.body = body


async def http(
    method: str,
    host: str,
    port: int,
    path: str,
    *,
    json_body: Any = None,
    token: str | None = None,
    expect: tuple[int, ...] = (200, 201),
    raw_body: bytes | None = None,
    content_type: str | None = None,
) -> Any:
    """One HTTP/1.1 request on a fresh connection; returns the decoded JSON body. The body is
    ``json_body`` encoded, or ``raw_body`` as ``content_type`` (e.g. multipart)."""
    reader, writer = await asyncio.open_connection(host, port)
    body = raw_body if raw_body is not None else b"" if json_body is None else json.dumps(json_body).encode()
    headers = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Connection: close",
        "Accept: application/json",
        f"Content-Length: {len(body)}",
    ]
    if content_type is not None:
        headers.append(f"Content-Type: {content_type}")
    elif json_body is not None:
        headers.append("Content-Type: application/json")
    if token:
        headers.append(f"Authorization: Bearer {token}")
    try:
        writer.write(("\r\n".join(headers) + "\r\n\r\n").encode() + body)
        raw = await reader.read(-1)
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    if b"transfer-encoding: chunked" in head.lower():
        content = _dechunk(content)
    if status not in expect:
        raise HttpError(status, content)
    return json.loads(content) if content else None


def _dechunk(data: bytes) -> bytes:
    out = bytearray()
    while data:
        line, _, rest = data.partition(b"\r\n")
        size = int(line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)
