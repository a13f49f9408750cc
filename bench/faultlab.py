"""Private Redis and PostgreSQL for fault scenarios (bench/faults.py), which stop, kill and
restart them: never the machine's shared instances, which other runs use.

* ``PrivateRedis``: a ``redis-server`` on a free port, no persistence (a restart loses every
  key, as a Redis without persistence does in production);
* ``PrivatePostgres``: a throw-away cluster (initdb, trust auth, ``fsync=off``) run as the
  ``postgres`` OS user when we are root (PostgreSQL refuses to run as root);
* ``LayerProxy``: a TCP relay between the servers and Redis that can refuse exactly one
  channel-layer publish (``arm_publish_failure``): the publish after a commit fails as it would
  if Redis were unreachable at that moment, with no test hook in the server;
* ``Lab``: all three plus a migrated, seeded template database each scenario copies.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from bench import infra

MEMBERS = 100  # users in the scenarios' room; sockets are spread over them
PASSWORD = "Fault-Pass-42!x"


class Missing(RuntimeError):
    """A binary the fault scenarios need is not installed."""


def _binary(name: str) -> str:
    found = shutil.which(name)
    if found:
        return found
    for bindir in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (bindir / name).exists():
            return str(bindir / name)
    raise Missing(f"{name} is not installed")


class PrivateRedis:
    def __init__(self) -> None:
        self.binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        if not Path(self.binary).exists():
            raise Missing("redis-server is not installed")
        self.port = infra.free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--daemonize", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        infra.wait_port(self.port, self.proc, timeout=15)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)


class PrivatePostgres:
    def __init__(self) -> None:
        self.initdb, self.pg_ctl = _binary("initdb"), _binary("pg_ctl")
        self.port = infra.free_port()
        self.tmp = tempfile.mkdtemp(prefix="parley-faults-pg-")
        self.data = os.path.join(self.tmp, "data")
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.tmp, "postgres")
        self._run([self.initdb, "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"])
        self.url = f"postgres://postgres@127.0.0.1:{self.port}"

    def _run(self, cmd: list[str]) -> None:
        subprocess.run([*self.as_postgres, *cmd], check=True, capture_output=True, timeout=60)

    def start(self) -> None:
        options = (f"-p {self.port} -k {self.tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
                   " -c synchronous_commit=off -c full_page_writes=off -c max_connections=100")  # fmt: skip
        self._run([self.pg_ctl, "-D", self.data, "-o", options, "-l", os.path.join(self.tmp, "log"),
                   "-w", "-t", "30", "start"])  # fmt: skip

    def stop(self) -> None:
        self._run([self.pg_ctl, "-D", self.data, "-m", "fast", "-w", "-t", "30", "stop"])

    def psql(self, sql: str, db: str = "postgres") -> list[tuple]:
        import psycopg

        with psycopg.connect(f"{self.url}/{db}", autocommit=True, connect_timeout=5) as conn:
            cur = conn.execute(sql)
            return cur.fetchall() if cur.description else []

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.tmp, ignore_errors=True)


class LayerProxy:
    """Relays TCP to Redis on its own thread and event loop. ``arm_publish_failure()``: the next
    client write that carries a channel-layer publish of a stored message (channels-redis's
    group_send ``EVAL`` with a ``message.new`` in it) is not relayed; the client gets a Redis
    error reply instead, so its connection stays in step and only that publish fails."""

    def __init__(self, redis_port: int) -> None:
        self.redis_port = redis_port
        self.port = infra.free_port()
        self.armed = threading.Event()
        self.refused = 0
        self.loop = asyncio.new_event_loop()
        ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, args=(ready,), daemon=True, name="layer-proxy")
        self.thread.start()
        ready.wait(10)

    def _serve(self, ready: threading.Event) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(asyncio.start_server(self._relay, "127.0.0.1", self.port))
        ready.set()
        try:
            self.loop.run_forever()
        finally:
            server.close()

    def arm_publish_failure(self) -> None:
        self.armed.set()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.redis_port)
        except OSError:
            writer.close()
            return

        async def client_to_redis() -> None:
            while data := await reader.read(65536):
                if self.armed.is_set() and b"EVAL" in data and b"message.new" in data:
                    self.armed.clear()
                    self.refused += 1
                    writer.write(b"-ERR publish refused by the fault proxy\r\n")
                    continue
                up_writer.write(data)
                await up_writer.drain()

        async def redis_to_client() -> None:
            while data := await up_reader.read(65536):
                writer.write(data)
                await writer.drain()

        tasks = [asyncio.ensure_future(client_to_redis()), asyncio.ensure_future(redis_to_client())]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        except Exception:
            pass
        for task in tasks:
            task.cancel()
        for w in (writer, up_writer):
            w.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


SEED = f"""
from accounts.models import User
from rooms import services
users = [User.objects.create_user(username=f"fault{{i:03d}}", password={PASSWORD!r}) for i in range({MEMBERS})]
room = services.room_create(creator=users[0], name="faults")
for user in users[1:]:
    services.room_join(user=user, room_id=room.id)
print(room.id)
"""


@dataclass
class Lab:
    redis: PrivateRedis
    postgres: PrivatePostgres
    proxy: LayerProxy
    room_id: int = 0
    template: str = "parley_faults_template"
    _databases: list[str] = field(default_factory=list)

    @classmethod
    def open(cls) -> Lab:
        redis = PrivateRedis()
        redis.start()
        postgres = PrivatePostgres()
        try:
            postgres.start()
            lab = cls(redis, postgres, LayerProxy(redis.port))
            lab._seed_template()
        except BaseException:
            redis.stop()
            postgres.destroy()
            raise
        return lab

    @property
    def redis_url(self) -> str:  # what the servers use: through the proxy
        return f"redis://127.0.0.1:{self.proxy.port}/0"

    def database_url(self, name: str) -> str:
        return f"{self.postgres.url}/{name}"

    def _seed_template(self) -> None:
        self.postgres.psql(f'CREATE DATABASE "{self.template}"')
        env = infra.parley_env(self.database_url(self.template), self.redis_url, "faultseed")
        run = {"cwd": infra.ROOT, "env": env, "check": True, "capture_output": True, "timeout": 180}
        subprocess.run([infra.PY, "manage.py", "migrate", "--noinput", "-v0"], **run)  # type: ignore[call-overload]
        out = subprocess.run([infra.PY, "manage.py", "shell", "-c", SEED], text=True, **run)  # type: ignore[call-overload]
        self.room_id = int(out.stdout.strip().splitlines()[-1])

    def database(self, name: str) -> str:
        """A fresh copy of the seeded template; returns its URL."""
        self.postgres.psql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        self._databases.append(name)
        return self.database_url(name)

    def restart_redis(self, down: float = 1.0) -> None:
        self.redis.stop()
        time.sleep(down)
        self.redis.start()

    def restart_postgres(self, down: float = 1.0) -> None:
        self.postgres.stop()
        time.sleep(down)
        self.postgres.start()

    def close(self) -> None:
        self.proxy.close()
        self.redis.stop()
        self.postgres.destroy()
