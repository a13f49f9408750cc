"""Run the benchmark: ``python -m bench [--quick] [--no-deflate] [--only fanout,rich,deflate,connections,...]``.

Starts the production serving shape itself (2 worker processes, PostgreSQL, Redis), creates
users through the public API, and measures Parley and its two peers in the same run under the
same load. Writes ``bench/results.json`` and ``bench/RESULTS.md``. Every socket is opened the way
browsers open them (permessage-deflate offered, ``bench/wsclient.py``); ``--no-deflate`` opens
them without the offer.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import awareness, deflate, faults, infra, rich, scenarios, sse, uploads, wsclient
from bench.scenarios import Account
from bench.stats import latency_summary

HERE = Path(__file__).resolve().parent
SCENARIOS = (
    "fanout", "rich", "awareness", "uploads", "deflate", "connections", "churn", "send_path", "history",
    "search", "sse", "faults",
)  # fmt: skip


@dataclass(frozen=True)
class Config:
    members: int = 500
    senders: int = 10
    rates: tuple[float, ...] = (10, 20, 40, 80)
    duration: float = 8.0
    drain: float = 4.0
    servers: tuple[str, ...] = infra.SERVERS
    rich_rate: float = 40.0
    reactors: int = 20
    reactions_per_s: float = 20.0
    editors: int = 5
    edits_per_s: float = 5.0
    typists: int = 20
    churn_sockets: int = 5000
    churn_rate: float = 100.0
    churn_duration: float = 10.0
    uploaders: int = 5
    upload_samples: int = 10
    deflate_offered: bool = True  # the client offers permessage-deflate, as browsers do
    deflate_sockets: int = 2000  # held per WS_DEFLATE setting to measure memory per socket
    connections: int = 20_000
    connection_servers: tuple[str, ...] = ("parley-uvicorn", "parley-daphne")
    idle: float = 8.0
    send_rate: float = 100.0
    send_duration: float = 8.0
    send_senders: int = 10
    history_messages: int = 1_000_000
    history_requests: int = 200
    search_requests: int = 200
    sse_clients: int = 1000
    sse_rate: float = 10.0
    fault_sockets: int = 500  # per fault scenario (bench/faults.py), over 2 server processes
    scenarios: tuple[str, ...] = SCENARIOS
    workers: int = 2
    db_name: str = "parley_bench"
    history_db: str = "parley_bench_history"
    user_prefix: str = field(default_factory=lambda: f"b{int(time.time()) % 100000:05d}u")


QUICK = Config(
    members=60, senders=5, rates=(10, 40), deflate_sockets=300, typists=5, churn_sockets=300, churn_rate=40, churn_duration=3, uploaders=2, upload_samples=2, reactors=10, reactions_per_s=10, editors=3, edits_per_s=3, duration=3, drain=3, connections=600, idle=2, send_duration=3,
    history_messages=20_000, history_requests=50, search_requests=30, sse_clients=200, fault_sockets=100, db_name="parley_bench_quick",
    history_db="parley_bench_quick_history",
)  # fmt: skip


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


class Bench:
    def __init__(self, config: Config, services: infra.Services) -> None:
        self.config = config
        self.services = services
        self.database_url = services.database_url(config.db_name)
        self.prefix = f"pb{os.getpid()}"
        self.accounts: list[Account] | None = None
        self.fanout_room: int | None = None

    def start(
        self, kind: str, database_url: str | None = None, extra_env: dict | None = None
    ) -> infra.Server:
        log(
            f"starting {kind} ({self.config.workers} processes){' with ' + str(extra_env) if extra_env else ''}"
        )
        return infra.start_server(
            kind,
            database_url=database_url or self.database_url,
            redis_url=self.services.redis_url,
            prefix=f"{self.prefix}{kind.replace('-', '')}",
            workers=self.config.workers,
            extra_env=extra_env,
        )

    async def parley_accounts(self, server: infra.Server, count: int) -> list[Account]:
        port = server.ports[0]
        if self.accounts is None:
            started = time.monotonic()
            log(f"registering and logging in {count} users through the API")
            self.accounts = await scenarios.accounts_create(port, count, self.config.user_prefix)
            self.fanout_room = await scenarios.room_with_members(port, self.accounts, "fan-out")
            log(f"  {count} users in a room in {time.monotonic() - started:.1f}s")
        else:
            await scenarios.accounts_refresh(port, self.accounts)
        return self.accounts

    async def fanout(self) -> dict[str, Any]:
        c = self.config
        out: dict[str, Any] = {}
        for kind in c.servers:
            server = self.start(kind)
            try:
                parley = kind.startswith("parley")
                accounts = await self.parley_accounts(server, c.members) if parley else None
                log(f"fan-out on {kind}: {c.members} members, {c.senders} senders, rates {list(c.rates)}")
                out[kind] = await scenarios.fanout(
                    server, members=c.members, senders=c.senders, rates=c.rates, duration=c.duration,
                    drain=c.drain, accounts=accounts, room_id=self.fanout_room or 1,
                )  # fmt: skip
                for row in out[kind]["rates"]:
                    log(f"  {row['offered_per_s']}/s: delivered/s {row['delivered_per_s']} p50 {row['p50_ms']}"
                        f" p99 {row['p99_ms']} max {row['max_ms']} lost {row['lost']} dup {row['duplicated']}")  # fmt: skip
            finally:
                server.stop()
        if self.fanout_room is not None:
            parleys = [v for k, v in out.items() if k.startswith("parley")]
            sent = sum(v["warmup_sent"] + sum(r["sent"] for r in v["rates"]) for v in parleys)
            persisted = int(self.services.psql(
                f"SELECT count(*) FROM messaging_message WHERE room_id = {self.fanout_room}", self.config.db_name
            ))  # fmt: skip
            out["persisted_check"] = {"sent_to_parley": sent, "persisted": persisted}
        return out

    async def _on_parley(
        self, what: str, scenario: Callable[[infra.Server, list[Account]], Awaitable[Any]]
    ) -> Any:
        """Run one scenario against a fresh Parley (uvicorn) with the fan-out room's members."""
        server = self.start(infra.SERVERS[0])
        try:
            accounts = await self.parley_accounts(server, self.config.members)
            log(what)
            out = await scenario(server, accounts)
            log(f"  {out}")
            return out
        finally:
            server.stop()

    async def rich(self) -> dict[str, Any]:
        c = self.config
        return await self._on_parley(
            f"rich traffic: {c.rich_rate} msg/s, {c.reactions_per_s} reactions/s by {c.reactors},"
            f" {c.edits_per_s} edits/s by {c.editors}, {c.members} members",
            lambda server, accounts: rich.rich(
                server, accounts=accounts, room_id=self.fanout_room or 1, members=c.members,
                senders=c.senders, rate=c.rich_rate, reactors=c.reactors, reactions_per_s=c.reactions_per_s,
                editors=c.editors, edits_per_s=c.edits_per_s, duration=c.duration, drain=c.drain + 4,
            ),
        )  # fmt: skip

    async def awareness(self) -> dict[str, Any]:
        c = self.config
        return await self._on_parley(
            f"awareness: {c.rich_rate} msg/s, every page reporting reads, {c.typists} typists, {c.members} members",
            lambda server, accounts: awareness.awareness(
                server, accounts=accounts, room_id=self.fanout_room or 1, members=c.members,
                senders=c.senders, rate=c.rich_rate, typists=c.typists, duration=c.duration, drain=c.drain + 4,
            ),
        )  # fmt: skip

    async def uploads(self) -> dict[str, Any]:
        c = self.config
        return await self._on_parley(
            f"uploads: a 12-megapixel JPEG {c.upload_samples} times, then {c.uploaders} users uploading while"
            f" the fan-out room takes {c.rich_rate} msg/s",
            lambda server, accounts: uploads.uploads(
                server, accounts=accounts, room_id=self.fanout_room or 1, members=c.members,
                senders=c.senders, rate=c.rich_rate, uploaders=c.uploaders, duration=c.duration,
                drain=c.drain + 4, samples=c.upload_samples,
            ),
        )  # fmt: skip

    async def churn(self) -> dict[str, Any]:
        c = self.config
        return await self._on_parley(
            f"churn: {c.churn_sockets} sockets, {c.churn_rate}/s connecting and disconnecting",
            lambda server, accounts: awareness.churn(
                server, accounts=accounts, sockets=c.churn_sockets, rate=c.churn_rate,
                duration=c.churn_duration, offline_within=5.0,
            ),
        )  # fmt: skip

    async def deflate(self) -> dict[str, Any]:
        c = self.config
        out: dict[str, Any] = {}
        for setting in ("off", "on"):
            log(
                f"permessage-deflate {setting}: {c.deflate_sockets} sockets held, then fan-out at {c.rich_rate}/s"
            )
            out[setting] = await deflate.policy(
                self.start, self.parley_accounts, setting=setting, members=c.members, senders=c.senders,
                rate=c.rich_rate, duration=c.duration, drain=c.drain, sockets=c.deflate_sockets,
                room_id=lambda: self.fanout_room or 1, frames=setting == "off",
            )  # fmt: skip
            log(f"  {out[setting]}")
        return out

    async def connections(self) -> dict[str, Any]:
        c = self.config
        out: dict[str, Any] = {}
        for kind in c.connection_servers:
            server = self.start(kind)
            try:
                accounts = await self.parley_accounts(server, c.members)
                log(f"connections on {kind}: {c.connections} sockets ({len(accounts)} users)")
                out[kind] = await scenarios.connections(
                    server, count=c.connections, accounts=accounts, idle=c.idle
                )
                log(f"  {out[kind]}")
            finally:
                server.stop()
        return out

    async def sse(self) -> dict[str, Any]:
        c = self.config
        out: dict[str, Any] = {}
        for transport in ("websocket", "sse"):
            # Streams per user are capped (SSE_MAX_STREAMS_PER_USER): lifted, as clients reuse accounts.
            server = self.start(infra.SERVERS[0], extra_env={"SSE_MAX_STREAMS_PER_USER": "100000"})
            try:
                accounts = await self.parley_accounts(server, c.members)
                log(f"{transport} cost: {c.sse_clients} clients, {c.sse_rate} msg/s for {c.duration}s")
                out[transport] = await sse.transport_cost(
                    server, transport, accounts=accounts, room_id=self.fanout_room or 1,
                    clients=c.sse_clients, rate=c.sse_rate, duration=c.duration, idle=c.idle,
                )  # fmt: skip
                log(f"  {out[transport]}")
            finally:
                server.stop()
        return out

    async def send_path(self) -> dict[str, Any]:
        c = self.config
        server = self.start("parley-uvicorn")
        try:
            accounts = (await self.parley_accounts(server, c.members))[: c.send_senders]
            room_id = await scenarios.room_with_members(server.ports[0], accounts, "send-path")
            log(
                f"send path: {c.send_rate}/s for {c.send_duration}s over WebSocket and REST, then closed loop"
            )
            out = await scenarios.send_path(
                server, accounts=accounts, room_id=room_id, rate=c.send_rate, duration=c.send_duration
            )
            created = (
                out["ws"]["acked"]
                + out["rest"]["created"]
                + out["ws_max"]["acked"]
                + out["rest_max"]["created"]
            )
            persisted = int(self.services.psql(
                f"SELECT count(*) FROM messaging_message WHERE room_id = {room_id}", c.db_name
            ))  # fmt: skip
            out["persisted_check"] = {"acknowledged": created, "persisted": persisted}
            log(f"  {out}")
            return out
        finally:
            server.stop()

    async def _history_seeded(self) -> tuple[str, float]:
        """The database of ``history_messages`` seeded messages (made once, kept between runs):
        its URL and the seconds the seed took now (next to nothing when it was there)."""
        c = self.config
        url = self.services.database_url(c.history_db)
        if not self.services.database_exists(c.history_db):
            self.services.psql(f'CREATE DATABASE "{c.history_db}"')
        infra.migrate(url, self.services.redis_url)
        log(f"seeding {c.history_messages} messages into {c.history_db} (idempotent: kept between runs)")
        started = time.monotonic()
        env = infra.parley_env(url, self.services.redis_url, self.prefix)
        await asyncio.to_thread(
            subprocess.run,
            [infra.PY, "manage.py", "seed_chat", "--users", "20", "--rooms", "4", "--members", "20",
             "--dms", "4", "--messages", str(c.history_messages), "--seed", "1"],
            cwd=infra.ROOT, env=env, check=True,
        )  # fmt: skip
        return url, time.monotonic() - started

    async def history(self) -> dict[str, Any]:
        c = self.config
        url, seed_seconds = await self._history_seeded()
        total = int(self.services.psql("SELECT count(*) FROM messaging_message", c.history_db))
        room_id = int(self.services.psql(
            "SELECT room_id FROM messaging_message GROUP BY room_id ORDER BY count(*) DESC LIMIT 1", c.history_db
        ))  # fmt: skip
        in_room = int(
            self.services.psql(
                f"SELECT count(*) FROM messaging_message WHERE room_id={room_id}", c.history_db
            )
        )
        username = self.services.psql(
            f"SELECT u.username FROM rooms_membership m JOIN accounts_user u ON u.id = m.user_id"
            f" WHERE m.room_id = {room_id} ORDER BY u.id LIMIT 1", c.history_db,
        )  # fmt: skip
        oldest = json.loads(self.services.psql(
            f"SELECT json_agg(id) FROM (SELECT id FROM messaging_message WHERE room_id = {room_id}"
            " ORDER BY id LIMIT 60) s", c.history_db,
        ))  # fmt: skip
        newest = int(
            self.services.psql(f"SELECT max(id) FROM messaging_message WHERE room_id={room_id}", c.history_db)
        )
        server = self.start("parley-uvicorn", database_url=url)
        try:
            log(f"history: {c.history_requests} requests per depth, room with {in_room} of {total} messages")
            pages = await scenarios.history(
                server, username=username, password="parley-demo", room_id=room_id, oldest_ids=oldest,
                newest_id=newest, requests=c.history_requests,
            )  # fmt: skip
        finally:
            server.stop()
        out = {
            "messages_total": total,
            "messages_in_room": in_room,
            "seed_seconds": round(seed_seconds, 1),
            **pages,
        }
        log(f"  {out}")
        return out

    async def faults(self) -> dict[str, Any]:
        """Redis restarted, a server process killed, PostgreSQL restarted and one publish lost,
        under load (bench/faults.py, the same code as tests/test_faults.py), on a private Redis
        and PostgreSQL the scenarios may stop: never the services the rest of the run uses."""
        log(f"faults: {', '.join(faults.SCENARIOS)} with {self.config.fault_sockets} sockets each")
        out = await faults.run_all(load={**faults.LOAD, "sockets": self.config.fault_sockets})
        log(f"  {out}")
        return out

    async def search(self) -> dict[str, Any]:
        """Message search on the history database, for a user in the rooms holding most messages:
        REST p99 of a rare word, a common word, a phrase and from: + word (and the common word
        while typing: a prefix); the same conditions as an unindexed ILIKE, timed in SQL; the
        GIN index's size and the time to build it over every message (REINDEX)."""
        c = self.config
        url, _ = await self._history_seeded()
        db = c.history_db
        room_id = int(self.services.psql(
            "SELECT room_id FROM messaging_message GROUP BY room_id ORDER BY count(*) DESC LIMIT 1", db
        ))  # fmt: skip
        members = (
            f"SELECT u.username FROM rooms_membership m JOIN accounts_user u ON u.id = m.user_id"
            f" WHERE m.room_id = {room_id} ORDER BY (SELECT count(*) FROM rooms_membership x"
            " WHERE x.user_id = u.id) DESC, u.id LIMIT 1 OFFSET "
        )
        username, other = (self.services.psql(f"{members}{offset}", db) for offset in (0, 1))
        queries = {
            "rare_word": "zeppelin ",
            "common_word": "deploy ",
            "phrase": '"cache miss"',
            "from_and_word": f"from:{other} deploy ",
            "common_word_typing": "depl",
        }
        server = self.start("parley-uvicorn", database_url=url)
        try:
            tokens = await wsclient.http(
                "POST", scenarios.HOST, server.ports[0], "/api/auth/token/",
                json_body={"username": username, "password": "parley-demo"},
            )  # fmt: skip
            await wsclient.http(  # the rare word: one message (idempotent by client_id)
                "POST", scenarios.HOST, server.ports[0], f"/api/rooms/{room_id}/messages/",
                json_body={"body": "the zeppelin has landed", "client_id": "bench-search-rare"},
                token=tokens["access"],
            )  # fmt: skip
            log(f"search: {c.search_requests} requests per query as {username}")
            rest = await scenarios.search(
                server, username=username, password="parley-demo", queries=queries, requests=c.search_requests
            )
        finally:
            server.stop()
        out = {
            "messages_total": int(self.services.psql("SELECT count(*) FROM messaging_message", db)),
            "rest": rest,
            "ilike": self._search_ilike(db, username, other),
            "index_bytes": int(
                self.services.psql("SELECT pg_relation_size('messaging_message_search_vector')", db)
            ),
            "table_bytes": int(self.services.psql("SELECT pg_relation_size('messaging_message')", db)),
        }
        started = time.monotonic()
        self.services.psql("REINDEX INDEX messaging_message_search_vector", db)
        out["index_build_s"] = round(time.monotonic() - started, 1)
        log(f"  {out}")
        return out

    def _search_ilike(self, db: str, username: str, other: str, runs: int = 5) -> dict[str, Any]:
        """The queries as an unindexed ILIKE (scoped and ordered as search is), timed in SQL."""
        import psycopg

        scope = (
            "SELECT id FROM messaging_message WHERE deleted_at IS NULL AND room_id IN (SELECT m.room_id"
            " FROM rooms_membership m JOIN accounts_user u ON u.id = m.user_id WHERE u.username = %s)"
        )
        patterns = {
            "rare_word": ("%zeppelin%", ""),
            "common_word": ("%deploy%", ""),
            "phrase": ("%cache miss%", ""),
            "from_and_word": (
                "%deploy%",
                " AND sender_id = (SELECT id FROM accounts_user WHERE username = %s)",
            ),
        }
        out: dict[str, Any] = {}
        with psycopg.connect(self.services.database_url(db), autocommit=True) as conn:
            for name, (pattern, extra) in patterns.items():
                sql = f"{scope} AND body ILIKE %s{extra} ORDER BY id DESC LIMIT 21"
                params = [username, pattern, *([other] if extra else [])]
                latencies = []
                for _ in range(runs):
                    started = time.perf_counter()
                    conn.execute(sql, params).fetchall()
                    latencies.append(time.perf_counter() - started)
                out[name] = {"runs": runs, **latency_summary(latencies)}
        return out


def merged(earlier: dict[str, Any], later: dict[str, Any]) -> dict[str, Any]:
    """``earlier``'s results with ``later``'s scenarios replacing theirs (``--merge``): a partial
    re-run keeps the rest of RESULTS.md, and ``reruns`` records which scenarios came from which
    run, with its commit and machine state."""
    scenarios = [name for name in SCENARIOS if name in later]
    out = {**earlier, **{name: later[name] for name in scenarios}}
    out["reruns"] = [*earlier.get("reruns", []), {
        "scenarios": scenarios, "started_at": later["started_at"], "commit": later.get("commit"),
        "duration_s": later.get("duration_s"), "loadavg_at_start": later["machine"]["loadavg_at_start"],
        "cpu_reference_ms_start": later["machine"].get("cpu_reference_ms_start"),
        "cpu_reference_ms_end": later["machine"].get("cpu_reference_ms_end"),
    }]  # fmt: skip
    return out


async def run(config: Config, write: Path | None = None, merge: bool = False) -> dict[str, Any]:
    infra.raise_nofile()
    wsclient.OFFER_DEFLATE = config.deflate_offered
    services = infra.services_ensure()
    results: dict[str, Any] = {
        "machine": infra.machine(),
        "config": asdict(config),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    started = time.monotonic()
    results["machine"]["cpu_reference_ms_start"] = infra.cpu_reference_ms()
    results["commit"] = infra.commit()
    try:
        results["machine"]["postgresql"] = services.psql("SHOW server_version")
        services.recreate_database(config.db_name)
        infra.migrate(services.database_url(config.db_name), services.redis_url)
        bench = Bench(config, services)
        for name in SCENARIOS:
            if name in config.scenarios:
                results[name] = await getattr(bench, name)()
    finally:
        services.stop()
    results["duration_s"] = round(time.monotonic() - started, 1)
    results["machine"]["cpu_reference_ms_end"] = infra.cpu_reference_ms()
    infra.LOGS.mkdir(parents=True, exist_ok=True)
    (infra.LOGS / "last-results.json").write_text(json.dumps(results, indent=2) + "\n")
    if write is not None:
        from bench import report

        if merge:
            results = merged(json.loads((write / "results.json").read_text()), results)
        (write / "results.json").write_text(json.dumps(results, indent=2) + "\n")
        (write / "RESULTS.md").write_text(report.render(results))
        log(f"wrote {write / 'RESULTS.md'}")
    return results


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small numbers, for development")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(SCENARIOS)}")
    parser.add_argument("--servers", default="", help=f"comma-separated subset of {','.join(infra.SERVERS)}")
    parser.add_argument(
        "--production-hasher", action="store_true", help="hash passwords with Argon2 (slow setup)"
    )
    parser.add_argument("--connection-servers", default="", help="servers of the connections scenario")
    parser.add_argument(
        "--no-deflate", action="store_true", help="open sockets without offering permessage-deflate"
    )
    parser.add_argument("--rates", default="", help="comma-separated offered fan-out rates (msg/s)")
    parser.add_argument("--duration", type=float, default=None, help="seconds per fan-out rate")
    parser.add_argument(
        "--render", action="store_true", help="only re-render RESULTS.md from bench/results.json"
    )
    parser.add_argument("--no-write", action="store_true", help="do not rewrite RESULTS.md")
    parser.add_argument(
        "--merge", action="store_true", help="replace only the scenarios run in results.json / RESULTS.md"
    )
    args = parser.parse_args(argv)
    if args.render:
        from bench import report

        (HERE / "RESULTS.md").write_text(report.render(json.loads((HERE / "results.json").read_text())))
        return
    config = QUICK if args.quick else Config()
    if args.only:
        config = replace(config, scenarios=tuple(args.only.split(",")))
    if args.servers:
        config = replace(config, servers=tuple(args.servers.split(",")))
    if args.connection_servers:
        config = replace(config, connection_servers=tuple(args.connection_servers.split(",")))
    if args.rates:
        config = replace(config, rates=tuple(float(r) for r in args.rates.split(",")))
    if args.duration:
        config = replace(config, duration=args.duration)
    if args.no_deflate:
        config = replace(config, deflate_offered=False)
    if args.production_hasher:
        os.environ["BENCH_PRODUCTION_HASHER"] = "1"
    write = None if (args.no_write or args.quick) else HERE
    try:
        import uvloop

        uvloop.run(run(config, write, args.merge))
    except ImportError:
        asyncio.run(run(config, write, args.merge))
    sys.stdout.flush()
