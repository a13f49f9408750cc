"""Awareness traffic: what keeps a chat feeling alive, under load.

* ``awareness``: the fan-out room at a steady send rate while **every** member's page reports
  reads as ``static/js/chat.js`` does (at most one ``read`` a second, for the newest message it
  has) and ``typists`` members type (a ``typing.start`` every 3 s each, as the composer sends).
  Measured: ``message.new`` p99 (checked off per socket, as in the fan-out scenario), how long a
  typing frame takes to reach the room's other open pages, and how long a ``read`` takes to come
  back as ``read.updated`` (the reader's own sockets hear it: the same lane a receipt takes).
* ``churn``: sockets connecting and disconnecting at a steady rate, spread over the fan-out
  room's members; at the end the presence API must report online exactly the users who still
  have a socket, and offline the ones who do not (after the documented expiry). Server CPU is
  reported per connect.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Sequence
from typing import Any

from bench import infra
from bench.rich import _int_after, _pace
from bench.scenarios import (
    HOST,
    NEW,
    Account,
    FanoutRecorder,
    _until,
    client_cpu,
    close_all,
    drive,
    open_sockets,
)
from bench.stats import latency_summary
from bench.wsclient import WsClient, http

TYPING = b'{"type":"typing"'
READ_UPDATED = b'{"type":"read.updated"'
READ_EVERY = 1.0  # static/js/chat.js READ_DELAY_MS
TYPING_EVERY = 3.0  # static/js/chat.js TYPING_SEND_MS


class AwarenessRecorder(FanoutRecorder):
    """The fan-out recorder, plus: the newest message id each socket has (what its page would
    mark read), typing arrivals timed from the typist's last ``typing.start``, and read.updated
    arrivals timed from the socket's last ``read``."""

    def __init__(self, sockets: int, user_ids: Sequence[int]) -> None:
        super().__init__(sockets)
        self.user_ids = list(user_ids)  # by socket tag
        self.newest = [0] * sockets
        self.typing_sent: dict[int, float] = {}  # typist's user id → when their last start left
        self.read_sent: dict[int, tuple[int, float]] = {}  # socket tag → (message id, when)
        self.typing_latencies: list[float] = []
        self.read_latencies: list[float] = []
        self.reads_sent = 0

    def reset(self) -> None:
        super().reset()
        self.typing_latencies, self.read_latencies = [], []
        self.reads_sent = 0

    def __call__(self, client: WsClient, payload: bytes, now: float) -> None:
        if payload.startswith(TYPING):
            user = _int_after(payload, b'"user":{"id":')
            if user is not None and b'"typing":true' in payload and user in self.typing_sent:
                self.typing_latencies.append(now - self.typing_sent[user])
            return
        if payload.startswith(READ_UPDATED):
            sent = self.read_sent.pop(client.tag, None)
            if sent is not None:
                self.read_latencies.append(now - sent[1])
            return
        super().__call__(client, payload, now)
        if NEW in payload[:32]:
            message_id = _int_after(payload, b'"message":{"id":')
            if message_id is not None and message_id > self.newest[client.tag]:
                self.newest[client.tag] = message_id


async def _read_reporter(client: WsClient, recorder: AwarenessRecorder, room_id: int, until: float) -> None:
    """One page: every READ_EVERY seconds, mark read up to the newest message it has, if new."""
    loop = asyncio.get_running_loop()
    await asyncio.sleep((client.tag % 100) / 100 * READ_EVERY)  # pages do not tick together
    marked = 0
    while loop.time() < until:
        newest = recorder.newest[client.tag]
        if newest > marked:
            recorder.read_sent[client.tag] = (newest, time.time())
            client.send_json({"type": "read", "room": room_id, "message": newest})
            recorder.reads_sent += 1
            marked = newest
        await asyncio.sleep(READ_EVERY)


async def awareness(
    server: infra.Server, *, accounts: Sequence[Account], room_id: int, members: int, senders: int,
    rate: float, typists: int, duration: float, drain: float,
) -> dict[str, Any]:  # fmt: skip
    """``senders`` send ``rate`` msg/s in total; every socket reports reads; ``typists`` other
    members send ``typing.start`` every TYPING_EVERY seconds. Every socket has the room open."""
    user_ids = [accounts[i % len(accounts)].user_id for i in range(members)]
    recorder = AwarenessRecorder(members, user_ids)
    clients, _, failures = await open_sockets(server, members, accounts, recorder)
    if failures:
        close_all(clients)
        raise RuntimeError(f"awareness: {failures} of {members} sockets failed to connect")
    for client in clients:
        client.send_json({"type": "room.open", "room": room_id})
    typing = clients[senders : senders + typists]
    await asyncio.sleep(0.5)
    try:
        warm, _, _ = await drive(clients[:senders], rate, 1.0, room_id)
        await _until(lambda: len(recorder.latencies) >= len(warm) * members, 15.0)
        await asyncio.sleep(0.3)
        recorder.reset()
        cpu0, server_cpu0 = client_cpu(), infra.cpu_seconds(server.pids())
        loop = asyncio.get_running_loop()
        until = loop.time() + duration

        def start_typing(client: WsClient) -> None:
            recorder.typing_sent[recorder.user_ids[client.tag]] = time.time()
            client.send_json({"type": "typing.start", "room": room_id})

        reporters = [asyncio.ensure_future(_read_reporter(c, recorder, room_id, until)) for c in clients]
        tasks = [drive(clients[:senders], rate, duration, room_id)]
        tasks += [
            _pace(round(duration / TYPING_EVERY), TYPING_EVERY, i * TYPING_EVERY / typists,
                  lambda k, c=c: start_typing(c))
            for i, c in enumerate(typing)
        ]  # fmt: skip
        wall0 = time.time()
        numbers, _, wall1 = (await asyncio.gather(*tasks))[0]
        await asyncio.gather(*reporters)
        expected = len(numbers) * members
        await _until(lambda: len(recorder.latencies) >= expected and not recorder.read_sent, drain)
        numbers_set = set(numbers)
        delivered = sum(len(seen & numbers_set) for seen in recorder.seen)
        server_cpu = infra.cpu_seconds(server.pids()) - server_cpu0
        typing_expected = sum(1 for _ in typing) * round(duration / TYPING_EVERY) * (members - 1)
        return {
            "members": members, "senders": senders, "typists": len(typing), "duration_s": duration,
            "offered_per_s": rate, "sent": len(numbers), "expected_deliveries": expected,
            "delivered": delivered, "lost": expected - delivered, "duplicated": recorder.duplicates,
            **latency_summary(recorder.latencies),
            "reads_sent": recorder.reads_sent, "reads_per_s": round(recorder.reads_sent / duration, 1),
            "read_updated_received": len(recorder.read_latencies),
            "read_updated_missing": len(recorder.read_sent),
            "read_updated_p99_ms": latency_summary(recorder.read_latencies)["p99_ms"],
            "read_updated_max_ms": latency_summary(recorder.read_latencies)["max_ms"],
            "typing_expected": typing_expected, "typing_received": len(recorder.typing_latencies),
            "typing_p99_ms": latency_summary(recorder.typing_latencies)["p99_ms"],
            "typing_max_ms": latency_summary(recorder.typing_latencies)["max_ms"],
            "frame_errors": recorder.errors,
            "server_cpu_s": round(server_cpu, 2), "client_cpu_s": round(client_cpu() - cpu0, 2),
            "window_s": round(max(recorder.last_delivery, wall1) - wall0, 2),
        }  # fmt: skip
    finally:
        close_all(clients)


def _noop(client: WsClient, payload: bytes, now: float) -> None:
    return None


async def presence_of(port: int, account: Account, user_ids: Sequence[int]) -> dict[int, str]:
    """user id → presence state, from GET /api/presence/ (at most 100 users a request)."""
    states: dict[int, str] = {}
    for i in range(0, len(user_ids), 100):
        chunk = ",".join(str(u) for u in user_ids[i : i + 100])
        for row in await http("GET", HOST, port, f"/api/presence/?users={chunk}", token=account.token):
            states[row["user"]] = row["state"]
    return states


async def churn(
    server: infra.Server, *, accounts: Sequence[Account], sockets: int, rate: float, duration: float,
    offline_within: float,
) -> dict[str, Any]:  # fmt: skip
    """Hold ``sockets`` sockets spread over ``accounts``, then for ``duration`` seconds open
    ``rate`` new ones a second and close as many of the oldest. Then close every socket of the
    second half of the accounts: the presence API must show the first half online at once and
    the second half offline within ``offline_within`` seconds."""
    clients, _, failures = await open_sockets(server, sockets, accounts, _noop)
    by_account = {i: [c for c in clients if c.tag % len(accounts) == i] for i in range(len(accounts))}
    opened = closed = 0
    connect_failures = failures
    pids = server.pids()
    cpu0 = infra.cpu_seconds(pids)
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    tick = 0.25
    next_tag = sockets
    for step in range(round(duration / tick)):
        delay = t0 + step * tick - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)
        batch = round(rate * tick)
        due = [accounts[(next_tag + i) % len(accounts)] for i in range(batch)]
        new, _, failed = await open_sockets(server, batch, due, _noop)
        connect_failures += failed
        for offset, client in enumerate(new):
            client.tag = next_tag + offset
            by_account.setdefault(client.tag % len(accounts), []).append(client)
        next_tag += batch
        opened += len(new)
        for client in clients[:batch]:
            client.close()
            closed += 1
        clients = clients[batch:] + new
    churn_cpu = infra.cpu_seconds(pids) - cpu0
    churn_wall = loop.time() - t0
    await asyncio.sleep(1.0)
    half = len(accounts) // 2
    stay, leave = accounts[:half], accounts[half:]
    live = {i for i, group in by_account.items() for c in group if not c.closed}
    for i in range(half, len(accounts)):
        for client in by_account.get(i, ()):
            client.close()
    observer = accounts[0]
    ids = [a.user_id for a in accounts]
    started = time.monotonic()
    states = await presence_of(server.ports[0], observer, ids)
    online_ok = sum(1 for i, a in enumerate(stay) if i in live and states.get(a.user_id) != "offline")
    gone_after = None
    while time.monotonic() - started < offline_within + 5:
        states = await presence_of(server.ports[0], observer, ids)
        if all(states.get(a.user_id) == "offline" for a in leave):
            gone_after = time.monotonic() - started
            break
        await asyncio.sleep(0.5)
    close_all(clients)
    return {
        "sockets": sockets, "rate_per_s": rate, "duration_s": duration, "opened": opened, "closed": closed,
        "achieved_per_s": round(opened / churn_wall, 1) if churn_wall else None,
        "connect_failures": connect_failures, "server_cpu_s": round(churn_cpu, 2),
        "server_cpu_pct": round(churn_cpu / churn_wall * 100, 1) if churn_wall else None,
        "cpu_ms_per_connect": round(churn_cpu * 1000 / opened, 2) if opened else None,
        "users": len(accounts), "stayed_online": online_ok, "stay_with_sockets": sum(1 for i in range(half) if i in live),
        "left_offline_after_s": round(gone_after, 1) if gone_after is not None else None,
        "offline_within_s": offline_within, "presence_sample": json.dumps(dict(list(states.items())[:3])),
    }  # fmt: skip


# --- report (bench/RESULTS.md) ---------------------------------------------------------------------


def targets(results: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(target, measured, met) for the awareness and churn scenarios that ran."""
    out: list[tuple[str, str, bool | None]] = []
    if a := results.get("awareness"):
        out.append((
            f"awareness: {_num(a['offered_per_s'])} msg/s × {a['members']}, every page reporting reads,"
            f" {a['typists']} typists: message.new p99 ≤ 100 ms; typing and read.updated within 1 s",
            f"p99 {_num(a['p99_ms'])} ms, lost {a['lost']:,}; typing max {_num(a['typing_max_ms'])} ms"
            f" ({a['typing_received']:,} of {a['typing_expected']:,}); read.updated max"
            f" {_num(a['read_updated_max_ms'])} ms ({a['read_updated_missing']} missing)",
            a["p99_ms"] is not None and a["p99_ms"] <= 100 and a["lost"] == 0
            and (a["typing_max_ms"] or 0) <= 1000 and (a["read_updated_max_ms"] or 0) <= 1000
            and a["read_updated_missing"] == 0 and a["typing_received"] >= a["typing_expected"],
        ))  # fmt: skip
    if c := results.get("churn"):
        out.append((
            f"churn: {c['sockets']:,} sockets, {_num(c['rate_per_s'])} connects + disconnects/s: presence"
            " correct, server CPU reported",
            f"{_num(c['achieved_per_s'])}/s achieved, {c['connect_failures']} failures;"
            f" online {c['stayed_online']} of {c['stay_with_sockets']}; the others offline after"
            f" {_num(c['left_offline_after_s'])} s; server CPU {_num(c['server_cpu_pct'])} % of a core",
            c["connect_failures"] == 0 and c["stayed_online"] == c["stay_with_sockets"]
            and c["left_offline_after_s"] is not None,
        ))  # fmt: skip
    return out


def awareness_section(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if a := results.get("awareness"):
        lines += [
            f"## 1d. Awareness: the fan-out room ({a['members']} members) at {_num(a['offered_per_s'])} msg/s,"
            f" every page reporting reads, {a['typists']} typists",
            "",
            "Parley (uvicorn). Every socket has the room open (`room.open`) and sends `read` for the newest"
            " message it has at most once a second (as the page does); typists send `typing.start` every 3 s"
            " (as the composer does). Typing latency = arrival − the typist's send; read.updated latency ="
            " arrival at the reader's socket − its `read`.",
            "",
            "| message.new p50 / p99 / max ms | lost | reads sent (/s) | read.updated p99 / max ms (missing) |"
            " typing received (expected) | typing p99 / max ms | frame errors | server CPU s |",
            "|---|---|---|---|---|---|---|---|",
            f"| {_num(a['p50_ms'])} / {_num(a['p99_ms'])} / {_num(a['max_ms'])} | {a['lost']:,} |"
            f" {a['reads_sent']:,} ({_num(a['reads_per_s'])}) | {_num(a['read_updated_p99_ms'])} /"
            f" {_num(a['read_updated_max_ms'])} ({a['read_updated_missing']}) | {a['typing_received']:,}"
            f" ({a['typing_expected']:,}) | {_num(a['typing_p99_ms'])} / {_num(a['typing_max_ms'])} |"
            f" {a['frame_errors']} | {_num(a['server_cpu_s'])} |",
            "",
        ]
    return lines


def churn_section(results: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if c := results.get("churn"):
        lines += [
            f"## 2b. Churn: {c['sockets']:,} sockets, {_num(c['rate_per_s'])} connecting and as many"
            f" disconnecting per second for {_num(c['duration_s'])} s",
            "",
            f"Spread over {c['users']} users (the fan-out room). Then every socket of half the users closes:"
            " the presence API (`GET /api/presence/`) must show the other half online at once, and these"
            " offline.",
            "",
            "| opened / closed | achieved connects/s | failures | server CPU (% of a core) | CPU ms per connect |"
            " online (of users with sockets) | offline after |",
            "|---|---|---|---|---|---|---|",
            f"| {c['opened']:,} / {c['closed']:,} | {_num(c['achieved_per_s'])} | {c['connect_failures']} |"
            f" {_num(c['server_cpu_pct'])} % | {_num(c['cpu_ms_per_connect'])} | {c['stayed_online']} of"
            f" {c['stay_with_sockets']} | {_num(c['left_offline_after_s'])} s |",
            "",
        ]
    return lines


def _num(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,.1f}" if isinstance(value, float) else f"{value:,}"
