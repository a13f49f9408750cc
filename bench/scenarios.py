"""The benchmark's scenarios, each driving a running server with real clients.

Every frame a receiver gets is checked off by message number, so loss and duplication are
counted exactly; latency is receive time minus the send time embedded in the message's
``client_id`` (and body), on one machine and one clock.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import resource
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from bench import infra, wsclient
from bench.stats import latency_summary
from bench.wsclient import WsClient, http, ws_connect

HOST = "127.0.0.1"
PASSWORD = "Bench-Pass-42!x"
NEW = b'"message.new"'
ACK = b'{"type":"message.ack"'
ERROR = b'{"type":"error"'
_numbers = itertools.count(1)  # message numbers, unique across the whole run


def client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def new_client_id() -> tuple[int, str]:
    number = next(_numbers)
    return number, f"m{number}t{time.time_ns() // 1000}"


def parse_client_id(payload: bytes) -> tuple[int, float] | None:
    """(message number, send time) from a frame carrying ``"client_id":"m<n>t<µs>"``."""
    i = payload.find(b'"client_id"')
    if i < 0:
        return None
    j = payload.find(b'"m', i + 11)
    k = payload.find(b'"', j + 1)
    cid = payload[j + 2 : k]
    t = cid.find(b"t")
    return int(cid[:t]), int(cid[t + 1 :]) / 1e6


# --- accounts (Parley only) ------------------------------------------------------------------


@dataclass
class Account:
    username: str
    token: str
    refresh: str
    user_id: int = 0
    minted: float = field(default_factory=time.monotonic)


async def gather_limited(coros: Sequence[Any], limit: int) -> list[Any]:
    semaphore = asyncio.Semaphore(limit)

    async def run(coro: Any) -> Any:
        async with semaphore:
            return await coro

    return await asyncio.gather(*(run(c) for c in coros))


async def accounts_create(port: int, count: int, prefix: str) -> list[Account]:
    """Register ``count`` users through the public API and log each in (JWT)."""

    async def one(i: int) -> Account:
        name = f"{prefix}{i:05d}"
        user = await http(
            "POST", HOST, port, "/api/auth/register/", json_body={"username": name, "password": PASSWORD}
        )
        tokens = await http(
            "POST", HOST, port, "/api/auth/token/", json_body={"username": name, "password": PASSWORD}
        )
        return Account(name, tokens["access"], tokens["refresh"], user_id=user.get("id", 0))

    return await gather_limited([one(i) for i in range(count)], 8)


async def accounts_refresh(port: int, accounts: Sequence[Account]) -> None:
    """Access tokens live 15 minutes; refresh (rotating) those older than 10."""

    async def one(account: Account) -> None:
        if time.monotonic() - account.minted < 600:
            return
        tokens = await http(
            "POST", HOST, port, "/api/auth/token/refresh/", json_body={"refresh": account.refresh}
        )
        account.token, account.refresh = tokens["access"], tokens.get("refresh", account.refresh)
        account.minted = time.monotonic()

    await gather_limited([one(a) for a in accounts], 16)


async def room_with_members(port: int, accounts: Sequence[Account], name: str) -> int:
    owner = accounts[0]
    room = await http("POST", HOST, port, "/api/rooms/", json_body={"name": name}, token=owner.token)

    async def join(account: Account) -> None:
        await http("POST", HOST, port, f"/api/rooms/{room['id']}/join/", token=account.token)

    await gather_limited([join(a) for a in accounts[1:]], 8)
    return room["id"]


async def ticket(port: int, account: Account) -> str:
    answer = await http("POST", HOST, port, "/api/auth/ws-ticket/", token=account.token)
    return answer["ticket"]


# --- sockets -----------------------------------------------------------------------------------


async def open_sockets(
    server: infra.Server, count: int, accounts: Sequence[Account] | None, handler: Any, limit: int = 50
) -> tuple[list[WsClient], list[float], int]:
    """Open ``count`` sockets (Parley: one ticket each, accounts reused round-robin), spread
    over the server's ports. Returns (sockets, connect seconds each, failures)."""
    times: list[float] = []
    failures = 0
    reasons: Counter[str] = Counter()

    async def one(i: int) -> WsClient | None:
        nonlocal failures
        port = server.ports[i % len(server.ports)]
        try:
            started = time.perf_counter()
            path = "/ws/"
            if accounts is not None:
                path = f"/ws/?ticket={await ticket(port, accounts[i % len(accounts)])}"
            client, hello = await ws_connect(HOST, port, path, handler)
            if hello is None or b'"hello"' not in hello:
                raise ConnectionError(f"unexpected first frame {hello!r}")
            times.append(time.perf_counter() - started)
            client.tag = i
            return client
        except Exception as exc:
            failures += 1
            reasons[f"{type(exc).__name__}: {str(exc)[:80]}"] += 1
            return None

    clients = await gather_limited([one(i) for i in range(count)], limit)
    if reasons:
        print(f"[bench] {failures} socket failures: {reasons.most_common(3)}", flush=True)
    return [c for c in clients if c is not None], times, failures


def close_all(clients: Sequence[WsClient]) -> None:
    for client in clients:
        client.close()


# --- fan-out -------------------------------------------------------------------------------------


class FanoutRecorder:
    """Checks every message.new off per socket; collects latencies, acks and errors."""

    def __init__(self, sockets: int) -> None:
        self.seen: list[set[int]] = [set() for _ in range(sockets)]
        self.latencies: list[float] = []
        self.ack_latencies: list[float] = []
        self.duplicates = 0
        self.errors = 0
        self.last_delivery = 0.0

    def reset(self) -> None:
        self.latencies, self.ack_latencies = [], []
        self.errors = self.duplicates = 0

    def __call__(self, client: WsClient, payload: bytes, now: float) -> None:
        if NEW in payload[:32]:
            parsed = parse_client_id(payload)
            if parsed is None:
                return
            number, sent = parsed
            seen = self.seen[client.tag]
            if number in seen:
                self.duplicates += 1
                return
            seen.add(number)
            self.latencies.append(now - sent)
            self.last_delivery = now
        elif payload.startswith(ACK):
            parsed = parse_client_id(payload)
            if parsed is not None:
                self.ack_latencies.append(now - parsed[1])
        elif payload.startswith(ERROR):
            self.errors += 1


async def drive(
    senders: Sequence[WsClient], rate: float, duration: float, room_id: int
) -> tuple[list[int], float, float]:
    """Open loop: ``rate`` messages/s in total, spread evenly over the senders and in time.
    Returns (message numbers sent, wall start, wall end of sending)."""
    loop = asyncio.get_running_loop()
    per_sender = rate / len(senders)
    count = max(1, round(per_sender * duration))
    interval = 1.0 / per_sender
    sent: list[int] = []
    t0 = loop.time() + 0.05
    wall0 = time.time()

    async def run(index: int, client: WsClient) -> None:
        offset = index * interval / len(senders)
        for k in range(count):
            delay = t0 + offset + k * interval - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
            number, cid = new_client_id()
            client.send_json(
                {"type": "message.send", "room": room_id, "body": f"bench {cid}", "client_id": cid}
            )
            sent.append(number)

    await asyncio.gather(*(run(i, c) for i, c in enumerate(senders)))
    return sent, wall0, time.time()


async def fanout(
    server: infra.Server,
    *,
    members: int,
    senders: int,
    rates: Sequence[float],
    duration: float,
    drain: float,
    accounts: Sequence[Account] | None,
    room_id: int,
) -> dict[str, Any]:
    """One room of ``members`` sockets, ``senders`` of them sending, at each offered rate."""
    recorder = FanoutRecorder(members)
    clients, connect_times, failures = await open_sockets(server, members, accounts, recorder)
    if failures:
        close_all(clients)
        raise RuntimeError(f"{server.name}: {failures} of {members} sockets failed to connect")
    await asyncio.sleep(0.5)
    results = []
    warm: list[int] = []
    try:
        # Warm-up, not measured: first requests import code, load templates, open connections.
        recorder.reset()
        warm, _, _ = await drive(clients[:senders], min(rates), 1.0, room_id)
        acks = len(warm) if accounts is not None else 0
        await _until(
            lambda: len(recorder.latencies) >= len(warm) * members and len(recorder.ack_latencies) >= acks,
            15.0,
        )
        await asyncio.sleep(0.3)
        for rate in rates:
            recorder.reset()
            wire0 = sum(c.wire_bytes for c in clients)
            cpu0, server_cpu0 = client_cpu(), infra.cpu_seconds(server.pids())
            numbers, wall0, wall1 = await drive(clients[:senders], rate, duration, room_id)
            expected = len(numbers) * members
            deadline = time.time() + drain
            numbers_set = set(numbers)
            while time.time() < deadline:
                if len(recorder.latencies) >= expected:
                    break
                await asyncio.sleep(0.05)
            delivered = sum(len(seen & numbers_set) for seen in recorder.seen)
            span = max(recorder.last_delivery, wall1) - wall0
            row = {
                "offered_per_s": rate,
                "sent": len(numbers),
                "expected_deliveries": expected,
                "delivered": delivered,
                "delivered_per_s": round(delivered / span, 1) if span > 0 else 0.0,
                "lost": expected - delivered,
                "duplicated": recorder.duplicates,
                **latency_summary(recorder.latencies),
                "errors": recorder.errors,
                "client_cpu_s": round(client_cpu() - cpu0, 2),
                "server_cpu_s": round(infra.cpu_seconds(server.pids()) - server_cpu0, 2),
                "wire_bytes": sum(c.wire_bytes for c in clients) - wire0,  # as received, incl. frame headers
                "window_s": round(span, 2),
            }
            if accounts is not None:
                row["acked"] = len(recorder.ack_latencies)
                row["ack_p99_ms"] = latency_summary(recorder.ack_latencies)["p99_ms"]
            results.append(row)
            await asyncio.sleep(0.5)
    finally:
        close_all(clients)
    return {"members": members, "senders": senders, "duration_s": duration, "connect_failures": failures,
            "connect": latency_summary(connect_times), "warmup_sent": len(warm), "rates": results,
            "deflate_negotiated": sum(1 for c in clients if c.deflate)}  # fmt: skip


# --- connections -------------------------------------------------------------------------------


HOLDER_SOCKETS = 8000  # per holder process (bench/holder.py), well under its open-file limit


async def connections(
    server: infra.Server, *, count: int, accounts: Sequence[Account] | None, idle: float, warm: int = 50
) -> dict[str, Any]:
    """Hold ``count`` authenticated sockets: connect time, failures, RSS per socket, idle CPU.
    ``warm`` are opened here first (the RSS base); the rest by holder processes."""
    warm_clients, _, warm_failures = await open_sockets(server, warm, accounts, _noop)
    await asyncio.sleep(1.0)
    rss_base = infra.rss_bytes(server.pids())
    rest = count - warm
    holders = max(1, -(-rest // HOLDER_SOCKETS))
    shares = [rest // holders + (1 if i < rest % holders else 0) for i in range(holders)]
    started = time.perf_counter()
    reports = await asyncio.gather(*(
        _holder_start(server, share, accounts or [], offset=i * 7) for i, share in enumerate(shares)
    ))  # fmt: skip
    wall = time.perf_counter() - started
    times = [t for _, report in reports for t in report["times"]]
    failures = sum(report["failures"] for _, report in reports)
    held = sum(report["held"] for _, report in reports)
    await asyncio.sleep(2.0)
    pids = server.pids()
    rss_held = infra.rss_bytes(pids)
    cpu0 = infra.cpu_seconds(pids)
    await asyncio.sleep(idle)
    idle_cpu = (infra.cpu_seconds(pids) - cpu0) / idle
    ends = await asyncio.gather(*(_holder_close(proc) for proc, _ in reports))
    alive = sum(e["alive"] for e in ends) + sum(1 for c in warm_clients if not c.closed)
    negotiated = sum(e["negotiated"] for e in ends) + sum(1 for c in warm_clients if c.deflate)
    close_all(warm_clients)
    return {
        "sockets": count,
        "held": alive,
        "failures": failures + warm_failures + (held + len(warm_clients) - alive),
        "connect": latency_summary(times),
        "connect_wall_s": round(wall, 1),
        "connects_per_s": round(held / wall, 1) if wall else None,
        "rss_base_mb": round(rss_base / 2**20, 1),
        "rss_held_mb": round(rss_held / 2**20, 1),
        "rss_per_socket_kb": round((rss_held - rss_base) / max(1, held) / 1024, 1),
        "idle_cpu_pct": round(idle_cpu * 100, 1),
        "processes": len(pids),
        "holder_processes": holders,
        "deflate_negotiated": negotiated,
    }


async def _holder_start(
    server: infra.Server, count: int, accounts: Sequence[Account], offset: int
) -> tuple[asyncio.subprocess.Process, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        infra.PY, "-m", "bench.holder", cwd=infra.ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, limit=2**24,
    )  # fmt: skip
    order = {
        "ports": server.ports, "count": count, "offset": offset, "deflate": wsclient.OFFER_DEFLATE,
        "accounts": [[a.username, a.token, a.refresh] for a in accounts],
    }  # fmt: skip
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(json.dumps(order).encode() + b"\n")
    await proc.stdin.drain()
    line = await proc.stdout.readline()
    if not line:
        raise RuntimeError("a socket holder process died before reporting")
    return proc, json.loads(line)


async def _holder_close(proc: asyncio.subprocess.Process) -> dict[str, Any]:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(b"close\n")
    await proc.stdin.drain()
    report = json.loads(await proc.stdout.readline())
    await proc.wait()
    return report


def _noop(client: WsClient, payload: bytes, now: float) -> None:
    pass


# --- send path -----------------------------------------------------------------------------------


async def send_path(
    server: infra.Server, *, accounts: Sequence[Account], room_id: int, rate: float, duration: float,
    window: int = 4,
) -> dict[str, Any]:  # fmt: skip
    """Ack latency at ``rate``/s over WebSocket and REST, then persisted messages/s with senders
    that keep ``window`` sends in flight (closed loop)."""
    port = server.ports[0]
    recorder = FanoutRecorder(len(accounts))
    clients, _, failures = await open_sockets(server, len(accounts), accounts, recorder)
    if failures:
        close_all(clients)
        raise RuntimeError(f"send path: {failures} sockets failed")
    await asyncio.sleep(0.5)
    out: dict[str, Any] = {"senders": len(clients), "rate_per_s": rate, "duration_s": duration}
    try:
        # 1. WebSocket, open loop at `rate`.
        recorder.reset()
        numbers, _, _ = await drive(clients, rate, duration, room_id)
        await _until(lambda: len(recorder.ack_latencies) >= len(numbers), 5.0)
        out["ws"] = {"sent": len(numbers), "acked": len(recorder.ack_latencies), "errors": recorder.errors,
                     **latency_summary(recorder.ack_latencies)}  # fmt: skip

        # 2. REST, open loop at `rate`.
        out["rest"] = await _rest_open_loop(port, accounts, room_id, rate, duration)

        # 3. Throughput, WebSocket, closed loop.
        out["ws_max"] = await _ws_closed_loop(clients, recorder, room_id, duration, window)

        # 4. Throughput, REST, closed loop.
        out["rest_max"] = await _rest_closed_loop(port, accounts, room_id, duration, len(accounts) * 2)
    finally:
        close_all(clients)
    return out


async def _until(condition: Any, limit: float, every: float = 0.02) -> bool:
    """Poll a condition that protocol callbacks make true, for at most ``limit`` seconds;
    whether it came true."""
    deadline = time.time() + limit
    while time.time() < deadline and not condition():  # noqa: ASYNC110
        await asyncio.sleep(every)
    return bool(condition())


async def _post_message(port: int, account: Account, room_id: int) -> float:
    _, cid = new_client_id()
    started = time.perf_counter()
    await http("POST", HOST, port, f"/api/rooms/{room_id}/messages/", token=account.token,
               json_body={"body": f"bench {cid}", "client_id": cid}, expect=(201,))  # fmt: skip
    return time.perf_counter() - started


async def _rest_open_loop(
    port: int, accounts: Sequence[Account], room_id: int, rate: float, duration: float
) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    count = max(1, round(rate * duration))
    t0 = loop.time() + 0.05
    errors = 0

    async def one(k: int) -> float | None:
        nonlocal errors
        delay = t0 + k / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        try:
            return await _post_message(port, accounts[k % len(accounts)], room_id)
        except Exception:
            errors += 1
            return None

    latencies = [x for x in await asyncio.gather(*(one(k) for k in range(count))) if x is not None]
    return {"sent": count, "created": len(latencies), "errors": errors, **latency_summary(latencies)}


async def _ws_closed_loop(
    clients: Sequence[WsClient], recorder: FanoutRecorder, room_id: int, duration: float, window: int
) -> dict[str, Any]:
    recorder.reset()
    in_flight = {id(c): 0 for c in clients}
    acked_before = 0
    stop_at = time.time() + duration
    # Wrap the recorder to learn which socket got its ack, then top its window up again.
    inner = recorder

    def on_frame(client: WsClient, payload: bytes, now: float) -> None:
        inner(client, payload, now)
        if payload.startswith(ACK) or payload.startswith(ERROR):
            in_flight[id(client)] -= 1
            if now < stop_at:
                _send_one(client)

    def _send_one(client: WsClient) -> None:
        _, cid = new_client_id()
        client.send_json({"type": "message.send", "room": room_id, "body": f"bench {cid}", "client_id": cid})
        in_flight[id(client)] += 1

    for client in clients:
        client.handler = on_frame
    started = time.time()
    for client in clients:
        for _ in range(window):
            _send_one(client)
    await _until(lambda: time.time() >= stop_at and not any(in_flight.values()), duration + 10)
    elapsed = time.time() - started
    for client in clients:
        client.handler = recorder
    acked = len(recorder.ack_latencies) - acked_before
    return {"senders": len(clients), "window": window, "acked": acked, "errors": recorder.errors,
            "persisted_per_s": round(acked / elapsed, 1), **latency_summary(recorder.ack_latencies)}  # fmt: skip


async def _rest_closed_loop(
    port: int, accounts: Sequence[Account], room_id: int, duration: float, concurrency: int
) -> dict[str, Any]:
    stop_at = time.time() + duration
    latencies: list[float] = []
    errors = 0

    async def worker(i: int) -> None:
        nonlocal errors
        while time.time() < stop_at:
            try:
                latencies.append(await _post_message(port, accounts[i % len(accounts)], room_id))
            except Exception:
                errors += 1

    started = time.time()
    await asyncio.gather(*(worker(i) for i in range(concurrency)))
    elapsed = time.time() - started
    return {"concurrency": concurrency, "created": len(latencies), "errors": errors,
            "persisted_per_s": round(len(latencies) / elapsed, 1), **latency_summary(latencies)}  # fmt: skip


# --- history -------------------------------------------------------------------------------------


async def history(
    server: infra.Server, *, username: str, password: str, room_id: int, oldest_ids: Sequence[int],
    newest_id: int, requests: int,
) -> dict[str, Any]:  # fmt: skip
    """50-message pages: the newest page, one in the middle, and the oldest full page."""
    port = server.ports[0]
    tokens = await http(
        "POST", HOST, port, "/api/auth/token/", json_body={"username": username, "password": password}
    )
    token = tokens["access"]
    middle = (oldest_ids[0] + newest_id) // 2
    pages = {
        "page_1": f"/api/rooms/{room_id}/messages/?limit=50",
        "middle": f"/api/rooms/{room_id}/messages/?limit=50&before={middle}",
        "deepest": f"/api/rooms/{room_id}/messages/?limit=50&before={oldest_ids[min(50, len(oldest_ids) - 1)]}",
    }
    out: dict[str, Any] = {}
    for name, path in pages.items():
        for _ in range(10):  # warm up connections and caches
            await http("GET", HOST, port, path, token=token)
        latencies = []
        count = 0
        for _ in range(requests):
            started = time.perf_counter()
            page = await http("GET", HOST, port, path, token=token)
            latencies.append(time.perf_counter() - started)
            count = len(page["results"])
        out[name] = {"requests": requests, "results": count, **latency_summary(latencies)}
    return out


# --- search --------------------------------------------------------------------------------------


async def search(
    server: infra.Server, *, username: str, password: str, queries: dict[str, str], requests: int
) -> dict[str, Any]:
    """GET /api/search/messages/ (20 results, newest first) for each named query, as ``username``."""
    port = server.ports[0]
    tokens = await http(
        "POST", HOST, port, "/api/auth/token/", json_body={"username": username, "password": password}
    )
    out: dict[str, Any] = {}
    for name, query in queries.items():
        path = f"/api/search/messages/?limit=20&q={quote(query)}"
        for _ in range(5):  # warm up connections and caches
            await http("GET", HOST, port, path, token=tokens["access"])
        latencies = []
        count = 0
        for _ in range(requests):
            started = time.perf_counter()
            page = await http("GET", HOST, port, path, token=tokens["access"])
            latencies.append(time.perf_counter() - started)
            count = len(page["results"])
        out[name] = {"q": query, "requests": requests, "results": count, **latency_summary(latencies)}
    return out
