"""What a Server-Sent Events client costs next to a WebSocket client (``--only sse``).

For each transport in turn, on the same server: ``clients`` connections of the fan-out room's
members are opened and held (server RSS before and after: memory per connection; CPU while
idle: heartbeats and keep-alive), then one member posts ``rate`` messages a second over REST for
``duration`` seconds and every connection counts its ``message.new`` (server CPU over the
deliveries: CPU per delivery). The event-stream clients are raw HTTP/1.1 readers, as lean as
``bench/wsclient.py``'s sockets, so the numbers compare the server's side of each transport. Server CPU is measured over the whole send window, so it
includes the REST sends themselves (the same for both transports).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from bench import infra
from bench.scenarios import HOST, NEW, Account, _post_message, _until, close_all, open_sockets


class StreamClient:
    """One held ``GET /events/stream/``: counts the message.new frames it reads."""

    def __init__(self) -> None:
        self.received = 0
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None

    async def open(self, port: int, account: Account) -> None:
        self.reader, self.writer = await asyncio.open_connection(HOST, port)
        self.writer.write(
            f"GET /events/stream/ HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
            f"Authorization: Bearer {account.token}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 30)
        if not head.startswith(b"HTTP/1.1 200"):
            raise ConnectionError(head.split(b"\r\n", 1)[0].decode())
        while b'"type":"hello"' not in await asyncio.wait_for(self.reader.readline(), 30):
            pass
        self.task = asyncio.create_task(self.read())

    async def read(self) -> None:
        assert self.reader is not None
        while line := await self.reader.readline():
            if NEW in line:
                self.received += 1

    def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
        if self.writer is not None:
            self.writer.close()


class WsCounter:
    def __init__(self) -> None:
        self.received = 0

    def __call__(self, client: Any, payload: bytes, now: float) -> None:
        if NEW in payload:
            self.received += 1


async def _open_streams(server: infra.Server, count: int, accounts: Sequence[Account]) -> list[StreamClient]:
    clients = [StreamClient() for _ in range(count)]
    semaphore = asyncio.Semaphore(50)

    async def one(i: int) -> None:
        async with semaphore:
            await clients[i].open(server.ports[i % len(server.ports)], accounts[i % len(accounts)])

    await asyncio.gather(*(one(i) for i in range(count)))
    return clients


async def _measure(
    server: infra.Server, opened: Any, received: Any, *, clients: int, accounts: Sequence[Account],
    room_id: int, rate: float, duration: float, idle: float,
) -> dict[str, Any]:  # fmt: skip
    pids = server.pids()
    await asyncio.sleep(1.0)
    rss_base = infra.rss_bytes(pids)
    started = time.perf_counter()
    held = await opened()
    connect_s = time.perf_counter() - started
    await asyncio.sleep(2.0)
    rss_held = infra.rss_bytes(pids)
    cpu0 = infra.cpu_seconds(pids)
    await asyncio.sleep(idle)
    idle_cpu = (infra.cpu_seconds(pids) - cpu0) / idle
    sent = int(rate * duration)
    cpu0 = infra.cpu_seconds(pids)
    paced = time.perf_counter()
    for i in range(sent):
        await _post_message(server.ports[i % len(server.ports)], accounts[0], room_id)
        await asyncio.sleep(max(0.0, paced + (i + 1) / rate - time.perf_counter()))
    await _until(lambda: received() >= sent * clients, 10)
    cpu = infra.cpu_seconds(pids) - cpu0
    delivered = received()
    return {
        "clients": clients,
        "held": held,
        "connect_s": round(connect_s, 2),
        "rss_per_client_kb": round((rss_held - rss_base) / max(1, held) / 1024, 1),
        "idle_cpu_pct": round(idle_cpu * 100, 2),
        "sent": sent,
        "delivered": delivered,
        "lost": sent * held - delivered,
        "cpu_s": round(cpu, 3),
        "cpu_per_delivery_us": round(cpu / max(1, delivered) * 1e6, 1),
    }


async def transport_cost(
    server: infra.Server, transport: str, *, accounts: Sequence[Account], room_id: int, clients: int,
    rate: float, duration: float, idle: float,
) -> dict[str, Any]:  # fmt: skip
    """One transport (``websocket`` or ``sse``) on a fresh server: memory freed by the other
    transport's connections would otherwise be reused and hide this one's."""
    common = {"clients": clients, "accounts": accounts, "room_id": room_id, "rate": rate,
              "duration": duration, "idle": idle}  # fmt: skip
    held: list[Any] = []
    if transport == "websocket":
        counter = WsCounter()

        async def open_ws() -> int:
            held.extend((await open_sockets(server, clients, accounts, counter))[0])
            return len(held)

        out = await _measure(server, open_ws, lambda: counter.received, **common)
    else:

        async def open_sse() -> int:
            held.extend(await _open_streams(server, clients, accounts))
            return len(held)

        out = await _measure(server, open_sse, lambda: sum(s.received for s in held), **common)
    close_all(held)
    return out
