"""Fault scenarios: what clients see when Redis, a server process or PostgreSQL fails under load.

One implementation for the test suite (tests/test_faults.py) and the benchmark
(``python -m bench --only faults``). Each scenario starts two real server processes (the
production command, one process each, sockets spread over both) on a fresh copy of the
lab's database (bench/faultlab.py: private Redis and PostgreSQL), opens ``sockets`` WebSockets
over the room's members, and sends ``rate`` messages a second over the sockets of
``senders`` members, each with a ``client_id``. Clients behave as the web page does: a socket
that closes or fails to open reconnects with backoff and ``?since=`` its highest ``seq``, and a
sender sends again, with the same ``client_id``, whatever was not acknowledged.

Counts, per scenario: ``sent`` (distinct client_ids), ``stored`` (rows in the database),
``delivered`` (distinct message deliveries across sockets), ``expected`` (stored × sockets),
``lost``, ``duplicates`` (a socket receiving a message twice), ``recover_s`` (from the fault's
end until every socket held every message sent before it), and what the fault cost
(reconnects, error frames by code, resends).
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Any

from bench import infra, scenarios
from bench.faultlab import MEMBERS, PASSWORD, Lab
from bench.wsclient import WsClient, http, ws_connect

HOST = "127.0.0.1"
SEQ = re.compile(rb'"seq":\s?(\d+)')
CLIENT_ID = re.compile(rb'"client_id":\s?"([^"]+)"')
OPENING = 25  # sockets opening at once
SCENARIOS = ("redis_restart", "server_kill", "postgres_restart", "lost_publish")


class Socket:
    """One client that stays connected: reconnects, catches up, and records what it receives."""

    def __init__(self, fleet: Fleet, index: int, token: str) -> None:
        self.fleet, self.index, self.token = fleet, index, token
        self.seen: dict[str, float] = {}  # client_id -> first arrival (epoch seconds)
        self.duplicates = 0
        self.seq = 0
        self.client: WsClient | None = None
        self.connects = 0
        self.closed = asyncio.Event()

    def on_frame(self, client: WsClient, payload: bytes, now: float) -> None:
        if b'"message.new"' in payload[:40]:
            seq = SEQ.search(payload)
            if seq:
                self.seq = max(self.seq, int(seq.group(1)))
            cid = CLIENT_ID.search(payload)
            if cid is not None:
                key = cid.group(1).decode()
                if key in self.seen:
                    self.duplicates += 1
                else:
                    self.seen[key] = now
            return
        frame = json.loads(payload)
        if isinstance(frame.get("seq"), int):
            self.seq = max(self.seq, frame["seq"])
        self.fleet.control_frame(self, frame)

    async def run(self) -> None:
        rng = random.Random(self.index)
        failures = 0
        while self.fleet.running:
            port = self.fleet.port_for(self.index)
            try:
                async with self.fleet.opening:  # a browser's backoff spreads a storm; so does this
                    answer = await http("POST", HOST, port, "/api/auth/ws-ticket/", token=self.token)
                    since = f"&since={self.seq}" if self.connects else ""
                    client, hello = await asyncio.wait_for(
                        ws_connect(HOST, port, f"/ws/?ticket={answer['ticket']}{since}", self.on_frame), 30
                    )
                if hello is None or b'"hello"' not in hello:
                    raise ConnectionError(f"unexpected first frame {hello!r:.80}")
            except Exception:
                failures += 1
                await asyncio.sleep(min(2.0, 0.1 * 2**failures) * (0.5 + rng.random()))
                continue
            if not self.connects:
                self.seq = json.loads(hello)["seq"]
            failures = 0
            self.connects += 1
            self.client = client
            self.fleet.connected(self)
            # WsClient has no closed event to wait on (it keeps its hot path lean): poll.
            while not client.closed and self.fleet.running:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
            self.client = None
            if self.fleet.running:
                self.fleet.reconnects += 1
                await asyncio.sleep(0.1 + 0.4 * rng.random())
        if self.client is not None:
            self.client.close()


class Fleet:
    def __init__(self, ports: list[int], tokens: list[str], sockets: int, senders: int) -> None:
        self.ports = ports
        self.dead: set[int] = set()
        self.running = True
        self.sockets = [Socket(self, i, tokens[i % len(tokens)]) for i in range(sockets)]
        self.senders = self.sockets[:senders]  # distinct members: sockets cycle over the tokens
        self.sent_at: dict[str, float] = {}  # client_id -> first send
        self.bodies: dict[str, tuple[Socket, dict[str, Any]]] = {}
        self.tried: dict[str, float] = {}  # client_id -> last (re)send, while unacknowledged
        self.acked: dict[str, float] = {}
        self.errors: Counter[str] = Counter()
        self.resends = 0
        self.reconnects = 0
        self.up = asyncio.Event()
        self.opening = asyncio.Semaphore(OPENING)

    def port_for(self, index: int) -> int:
        live = [p for p in self.ports if p not in self.dead]
        return live[index % len(live)]

    def connected(self, socket: Socket) -> None:
        if all(s.connects for s in self.sockets):
            self.up.set()
        if socket in self.senders:  # a fresh socket: what was not acknowledged goes again now
            for cid, (sender, _) in self.bodies.items():
                if sender is socket and cid not in self.acked:
                    self.tried[cid] = 0.0

    def control_frame(self, socket: Socket, frame: dict[str, Any]) -> None:
        kind = frame.get("type")
        if kind == "message.ack":
            self.acked.setdefault(frame["client_id"], time.time())
            self.tried.pop(frame["client_id"], None)
        elif kind == "error":
            self.errors[frame.get("code", "?")] += 1
            if frame.get("client_id") in self.tried:
                self.tried[frame["client_id"]] = 0.0  # retry at the next pass
        elif kind == "resync":
            self.errors["resync"] += 1

    def send(self, sender: Socket, cid: str, room: int) -> None:
        frame = {"type": "message.send", "room": room, "body": f"fault {cid}", "client_id": cid}
        self.bodies[cid] = (sender, frame)
        self.sent_at[cid] = time.time()
        self.tried[cid] = 0.0
        self._try(cid)

    def _try(self, cid: str) -> None:
        sender, frame = self.bodies[cid]
        if sender.client is not None and not sender.client.closed:
            if self.tried[cid]:
                self.resends += 1
            self.tried[cid] = time.time()
            sender.client.send_json(frame)

    async def retry_forever(self) -> None:
        """The page's rule: unacknowledged sends go again, same client_id, after a while."""
        while self.running:
            await asyncio.sleep(0.25)
            now = time.time()
            for cid, last in list(self.tried.items()):
                if now - last > 2.0:
                    self._try(cid)

    def missing(self, cids: set[str]) -> int:
        return sum(len(cids - s.seen.keys()) for s in self.sockets)


async def _until(condition: Callable[[], bool], limit: float) -> bool:
    # Every 0.1 s: a fleet's missing() walks every socket's seen set.
    return await scenarios._until(condition, limit, every=0.1)


async def _tokens(port: int) -> list[str]:
    async def one(i: int) -> str:
        body = {"username": f"fault{i:03d}", "password": PASSWORD}
        return (await http("POST", HOST, port, "/api/auth/token/", json_body=body))["access"]

    semaphore = asyncio.Semaphore(8)

    async def limited(i: int) -> str:
        async with semaphore:
            return await one(i)

    return await asyncio.gather(*(limited(i) for i in range(MEMBERS)))


Fault = Callable[[Lab, infra.Server, Fleet], Awaitable[None]]


async def _run(lab: Lab, name: str, fault: Fault | None, *, sockets: int, senders: int, rate: float,
               duration: float, fault_at: float, settle: float = 30.0,
               extra_env: dict[str, str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Load, fault at ``fault_at`` s into it (``fault`` returns when the fault is over), then
    wait up to ``settle`` s for every send to be acknowledged and every socket to hold it."""
    database = f"faults_{name}_{int(time.time() * 1000) % 10**8}"
    database_url = lab.database(database)

    def start() -> infra.Server:
        return infra.start_server("parley-uvicorn", database_url=database_url, redis_url=lab.redis_url,
                                  prefix=f"flt{name}", workers=1, extra_env=extra_env)  # fmt: skip

    servers = await asyncio.gather(asyncio.to_thread(start), asyncio.to_thread(start))
    cluster = infra.Server("faults", [s.ports[0] for s in servers], [s.procs[0] for s in servers],
                           [s.logs[0] for s in servers])  # fmt: skip
    started = time.monotonic()
    fleet = Fleet(cluster.ports, await _tokens(cluster.ports[0]), sockets, senders)
    tasks = [asyncio.ensure_future(s.run()) for s in fleet.sockets]
    retry = asyncio.ensure_future(fleet.retry_forever())
    out: dict[str, Any] = {"sockets": sockets, "senders": senders, "rate": rate, "duration_s": duration}
    try:
        if not await _until(fleet.up.is_set, 120):
            raise TimeoutError(f"only {sum(1 for s in fleet.sockets if s.connects)} sockets connected")
        out["setup_s"] = round(time.monotonic() - started, 1)
        fault_task: asyncio.Task[None] | None = None
        fault_end = 0.0
        begin = time.monotonic()
        for n in range(int(rate * duration)):
            await asyncio.sleep(max(0.0, begin + n / rate - time.monotonic()))
            if fault is not None and fault_task is None and time.monotonic() - begin >= fault_at:
                fault_started = time.time()
                fault_task = asyncio.ensure_future(fault(lab, cluster, fleet))
            if fault_task is not None and fault_task.done() and not fault_end:
                fault_task.result()
                fault_end = time.time()
            fleet.send(fleet.senders[n % senders], f"{name}-{n}", lab.room_id)
        if fault is not None and fault_task is None:  # a fault meant for after the load
            fault_started = time.time()
            fault_task = asyncio.ensure_future(fault(lab, cluster, fleet))
        if fault_task is not None:
            await fault_task
            fault_end = fault_end or time.time()
        await _until(lambda: not fleet.tried, settle)
        acked = set(fleet.acked)
        await _until(lambda: fleet.missing(acked) == 0, settle)
        out.update(_counts(fleet, acked))
        if fault is not None:
            out["fault_s"] = round(fault_end - fault_started, 2)
            before_end = {c for c in acked if fleet.sent_at[c] <= fault_end}
            last = max(
                (s.seen.get(c, fault_end) for s in fleet.sockets for c in before_end), default=fault_end
            )
            out["recover_s"] = round(max(0.0, last - fault_end), 2)
        # Delivery is live again: the last quarter's messages, from first send to the last socket.
        tail = [
            c for c in acked if fleet.sent_at[c] >= fleet.sent_at[f"{name}-{int(rate * duration * 0.75)}"]
        ]
        out["tail_p99_ms"] = _p99_ms(fleet, tail)
        out.update(_database_counts(lab, database, name))
    finally:
        fleet.running = False
        retry.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        cluster.stop()
    return out


def _counts(fleet: Fleet, acked: set[str]) -> dict[str, Any]:
    delivered = sum(len(acked & s.seen.keys()) for s in fleet.sockets)
    return {
        "sent": len(fleet.bodies),
        "acked": len(acked),
        "unacked": len(fleet.tried),
        "expected": len(acked) * len(fleet.sockets),
        "delivered": delivered,
        "lost": len(acked) * len(fleet.sockets) - delivered,
        "duplicates": sum(s.duplicates for s in fleet.sockets),
        "reconnects": fleet.reconnects,
        "resends": fleet.resends,
        "errors": dict(fleet.errors),
        "missing_sample": sorted(
            (s.index, s.connects, c) for s in fleet.sockets for c in acked - s.seen.keys()
        )[:5],
        "ack_p99_ms": round(
            sorted(fleet.acked[c] - fleet.sent_at[c] for c in acked)[int(len(acked) * 0.99) - 1] * 1000
        )
        if acked
        else None,
    }


def _p99_ms(fleet: Fleet, cids: list[str]) -> float | None:
    latencies = sorted(s.seen[c] - fleet.sent_at[c] for s in fleet.sockets for c in cids if c in s.seen)
    return round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 1) if latencies else None


def _database_counts(lab: Lab, database: str, name: str) -> dict[str, Any]:
    """Rows per client_id, and every message with exactly one message.new event (and no event
    without its message): nothing stored twice, nothing half-written."""
    ((stored, distinct, orphans, unevented, multi),) = lab.postgres.psql(
        f"""SELECT
          (SELECT count(*) FROM messaging_message WHERE client_id LIKE '{name}-%'),
          (SELECT count(DISTINCT client_id) FROM messaging_message WHERE client_id LIKE '{name}-%'),
          (SELECT count(*) FROM realtime_event e WHERE e.type = 'message.new'
             AND NOT EXISTS (SELECT 1 FROM messaging_message m WHERE m.id = e.object_id)),
          (SELECT count(*) FROM messaging_message m WHERE NOT EXISTS
             (SELECT 1 FROM realtime_event e WHERE e.type = 'message.new' AND e.object_id = m.id)),
          (SELECT count(*) FROM (SELECT object_id FROM realtime_event WHERE type = 'message.new'
             GROUP BY object_id HAVING count(*) > 1) x)""",
        db=database,
    )
    return {"stored": stored, "stored_twice": stored - distinct, "events_without_message": orphans,
            "messages_without_event": unevented, "messages_with_two_events": multi}  # fmt: skip


# --- the faults ----------------------------------------------------------------------------------


async def _redis_restart(lab: Lab, cluster: infra.Server, fleet: Fleet) -> None:
    await asyncio.to_thread(lab.restart_redis, 1.0)


async def _server_kill(lab: Lab, cluster: infra.Server, fleet: Fleet) -> None:
    fleet.dead.add(cluster.ports[0])
    cluster.procs[0].kill()
    await asyncio.to_thread(cluster.procs[0].wait, 10)


async def _postgres_restart(lab: Lab, cluster: infra.Server, fleet: Fleet) -> None:
    await asyncio.to_thread(lab.restart_postgres, 1.0)


async def redis_restart(lab: Lab, **load: Any) -> dict[str, Any]:
    """With the hubs' database gap check off: after the restart only the channel layer (and
    the sockets' own catch-up) can bring messages, so live delivery must truly resume."""
    return await _run(
        lab, "redis_restart", _redis_restart, **load, extra_env={"HUB_GAP_CHECK_SECONDS": "3600"}
    )


async def server_kill(lab: Lab, **load: Any) -> dict[str, Any]:
    return await _run(lab, "server_kill", _server_kill, **load)


async def postgres_restart(lab: Lab, **load: Any) -> dict[str, Any]:
    return await _run(lab, "postgres_restart", _postgres_restart, **load)


async def lost_publish(lab: Lab, **load: Any) -> dict[str, Any]:
    """The load, then quiet; then one message whose publish the proxy refuses after its commit.
    ``gap_s``: from its acknowledgement until every socket has it (the hubs' gap check)."""
    out: dict[str, Any] = {}

    async def lose_one(lab: Lab, cluster: infra.Server, fleet: Fleet) -> None:
        acked = set(fleet.acked)
        await _until(lambda: not fleet.tried and fleet.missing(acked) == 0, 20)
        await asyncio.sleep(0.5)
        refused = lab.proxy.refused
        lab.proxy.arm_publish_failure()
        cid = "lost_publish-lost"
        fleet.send(fleet.senders[0], cid, lab.room_id)
        await _until(lambda: cid in fleet.acked, 10)
        if not await _until(lambda: fleet.missing({cid}) == 0, 20):
            out["gap_s"] = None
        else:
            last = max(s.seen[cid] for s in fleet.sockets)
            out["gap_s"] = round(last - fleet.acked[cid], 2)
        out["publishes_refused"] = lab.proxy.refused - refused

    load = {**load, "fault_at": load["duration"]}  # after the load: the stream is quiet
    result = await _run(lab, "lost_publish", lose_one, **load)
    return {**result, **out}


SCENARIO_FUNCS = {
    "redis_restart": redis_restart,
    "server_kill": server_kill,
    "postgres_restart": postgres_restart,
    "lost_publish": lost_publish,
}
LOAD = {"sockets": 500, "senders": 10, "rate": 20.0, "duration": 10.0, "fault_at": 3.0}


async def run_all(lab: Lab | None = None, load: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every scenario, one after the other (each loads both cores), on ``lab`` or a new one."""
    own = lab is None
    lab = lab or await asyncio.to_thread(Lab.open)
    try:
        return {name: await func(lab, **(load or LOAD)) for name, func in SCENARIO_FUNCS.items()}
    finally:
        if own:
            lab.close()
