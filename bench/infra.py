"""The benchmark's machinery: PostgreSQL and Redis, databases, server processes, /proc probes.

Everything listens on 127.0.0.1. PostgreSQL and Redis are used where they already run
(``BENCH_PG_URL`` / ``BENCH_REDIS_URL``, default the usual local ports); when they are not
reachable and their binaries are installed, throw-away instances are started in a temporary
directory for the length of the run.
"""

from __future__ import annotations

import os
import platform
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from chatsite import serve

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
LOGS = ROOT / "test-artifacts" / "bench"
MEDIA = LOGS / "media"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def reachable(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1).close()
        return True
    except OSError:
        return False


def wait_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited early with code {proc.returncode}")
        if reachable("127.0.0.1", port):
            return
        time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port} after {timeout}s")


NOFILE_WANTED = 65536  # 20,000 held sockets in the load generator, plus its HTTP requests


def raise_nofile() -> int:
    """Raise this process's open-file limit to NOFILE_WANTED (when privileged; else to the hard
    limit); returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        wanted = max(hard, NOFILE_WANTED)
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, wanted))
    except (ValueError, OSError):
        if soft < hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _child_nofile() -> None:  # preexec_fn for server processes
    raise_nofile()


# --- PostgreSQL and Redis ----------------------------------------------------------------------


@dataclass
class Services:
    pg_url: str  # server URL without a database name: postgres://user@host:port
    redis_url: str  # redis://host:port/db
    _procs: list[subprocess.Popen] = field(default_factory=list)
    _tmp: list[str] = field(default_factory=list)

    def database_url(self, name: str) -> str:
        return f"{self.pg_url}/{name}"

    def psql(self, sql: str, db: str = "postgres") -> str:
        import psycopg

        with psycopg.connect(self.database_url(db), autocommit=True) as conn:
            cur = conn.execute(sql)
            row = cur.fetchone() if cur.description else None
            return "" if row is None or row[0] is None else str(row[0])

    def recreate_database(self, name: str) -> None:
        self.drop_database(name)
        self.psql(f'CREATE DATABASE "{name}"')

    def drop_database(self, name: str) -> None:
        self.psql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            " AND pid <> pg_backend_pid()"
        )
        self.psql(f'DROP DATABASE IF EXISTS "{name}"')

    def database_exists(self, name: str) -> bool:
        return self.psql(f"SELECT count(*) FROM pg_database WHERE datname = '{name}'") == "1"

    def stop(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        for path in self._tmp:
            shutil.rmtree(path, ignore_errors=True)


def services_ensure() -> Services:
    pg = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432")
    redis = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
    services = Services(pg_url=pg.rstrip("/"), redis_url=redis)
    pg_parts, redis_parts = urlparse(pg), urlparse(redis)
    if not reachable(pg_parts.hostname or "127.0.0.1", pg_parts.port or 5432):
        services.pg_url = _start_postgres(services)
    if not reachable(redis_parts.hostname or "127.0.0.1", redis_parts.port or 6379):
        services.redis_url = _start_redis(services)
    return services


def _start_postgres(services: Services) -> str:
    bindir = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
    initdb = shutil.which("initdb") or (str(bindir / "initdb") if bindir else None)
    if not initdb or not Path(initdb).exists():
        raise RuntimeError("PostgreSQL is not reachable and initdb is not installed (set BENCH_PG_URL)")
    data = tempfile.mkdtemp(prefix="parley-bench-pg-")
    services._tmp.append(data)
    port = free_port()
    subprocess.run(
        [initdb, "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8"], check=True, capture_output=True
    )
    postgres = str(Path(initdb).with_name("postgres"))
    proc = subprocess.Popen(
        [postgres, "-D", data, "-p", str(port), "-k", data, "-c", "listen_addresses=127.0.0.1",
         "-c", "fsync=on", "-c", "max_connections=200"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    services._procs.append(proc)
    wait_port(port, proc)
    time.sleep(1)
    return f"postgres://postgres@127.0.0.1:{port}"


def _start_redis(services: Services) -> str:
    binary = shutil.which("redis-server")
    if not binary:
        raise RuntimeError("Redis is not reachable and redis-server is not installed (set BENCH_REDIS_URL)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    services._procs.append(proc)
    wait_port(port, proc)
    return f"redis://127.0.0.1:{port}/0"


# --- server processes --------------------------------------------------------------------------

SERVERS = ("parley-uvicorn", "parley-daphne", "tutorial", "bare")


@dataclass
class Server:
    name: str
    ports: list[int]  # clients spread their sockets over these
    procs: list[subprocess.Popen]
    logs: list[Path]

    def pids(self) -> list[int]:
        """Every process of this server (supervisors and workers)."""
        found: list[int] = []
        for proc in self.procs:
            found.extend(process_tree(proc.pid))
        return found

    def stop(self) -> None:
        tree = self.pids()  # before the supervisors go: their workers must not outlive them
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
        for pid in tree:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass


def parley_env(database_url: str, redis_url: str, prefix: str) -> dict[str, str]:
    """The production configuration, with the per-user send budget raised for load tests."""
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        DATABASE_URL=database_url,
        REDIS_URL=redis_url,
        CHANNEL_PREFIX=prefix,
        DEBUG="false",
        SECRET_KEY=env.get("BENCH_SECRET_KEY", "bench-only-secret-key-not-for-production-0123456789"),
        # 10 senders at 80 msg/s is 80 sends per 10 s each; the default budget is 20.
        SEND_RATE_LIMIT="1000000",
        # Setup registers hundreds of users, and mints a ticket per socket, from one address.
        REGISTER_RATE_LIMIT="1000000",
        WS_TICKET_RATE_LIMIT="1000000",
        LOGIN_THROTTLE_IP_ATTEMPTS="1000000",
        # The uploads scenario's users upload continuously (the default budget is 30 a minute),
        # into a directory of the bench's own, emptied by each run.
        UPLOAD_RATE_LIMIT="1000000",
        MEDIA_ROOT=str(MEDIA),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
    )
    return env


def _spawn(cmd: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    LOGS.mkdir(parents=True, exist_ok=True)
    handle = log.open("wb")
    return subprocess.Popen(
        cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, preexec_fn=_child_nofile
    )


def migrate(database_url: str, redis_url: str) -> None:
    env = parley_env(database_url, redis_url, "bench")
    subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)


def start_server(
    kind: str,
    *,
    database_url: str,
    redis_url: str,
    prefix: str,
    workers: int = 2,
    extra_env: dict | None = None,
) -> Server:
    """Start one of SERVERS with ``workers`` processes and wait until it listens."""
    env = parley_env(database_url, redis_url, prefix) | (extra_env or {})
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []
    ports: list[int] = []
    if kind in ("parley-uvicorn", "tutorial"):
        port = free_port()
        app = (
            "chatsite.asgi:application"
            if kind == "parley-uvicorn"
            else "bench.peers.tutorial_asgi:application"
        )
        if kind == "tutorial":
            env["TUTORIAL_REDIS_URL"] = redis_url
            env["TUTORIAL_PREFIX"] = prefix
        # Parley's own server options (chatsite/serve.py) for both: the same server setup.
        deflate = serve.deflate_wanted(env)
        cmd = [*serve.command(port=port, workers=workers, app=app, deflate=deflate), "--backlog", "4096"]
        log = LOGS / f"{kind}-{port}.log"
        procs.append(_spawn(cmd, env, log))
        logs.append(log)
        ports.append(port)
    elif kind == "parley-daphne":
        # Daphne has no --workers: run one process per core, clients spread over their ports
        # (what a load balancer in front of them would do).
        for _ in range(workers):
            port = free_port()
            log = LOGS / f"{kind}-{port}.log"
            cmd = [PY, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "chatsite.asgi:application"]
            procs.append(_spawn(cmd, env, log))
            logs.append(log)
            ports.append(port)
    elif kind == "bare":
        port = free_port()
        log = LOGS / f"bare-{port}.log"
        cmd = [PY, "-m", "bench.peers.bare_server", "--port", str(port), "--workers", str(workers),
               "--redis", redis_url, "--channel", f"{prefix}:bare"]  # fmt: skip
        procs.append(_spawn(cmd, env, log))
        logs.append(log)
        ports.append(port)
    else:
        raise ValueError(kind)
    server = Server(name=kind, ports=ports, procs=procs, logs=logs)
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_port(port, proc)
        time.sleep(1.0 if kind != "bare" else 0.3)  # let every worker finish importing
    except Exception:
        server.stop()
        raise
    return server


# --- /proc probes --------------------------------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def process_tree(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        todo.extend(children.get(current, []))
    return out


def rss_bytes(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
        except OSError:
            pass
    return total


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime + stime
        except OSError:
            pass
    return total / CLOCK_TICKS


def commit() -> str:
    """The code measured: the checked-out commit, marked when the work tree differs from it."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()  # fmt: skip
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{head} with uncommitted changes" if dirty else head


def cpu_reference_ms() -> float:
    """The best of three timings of a fixed pure-Python loop: how fast this host runs Python at
    that moment. On a shared VM it varies (here from ~80 to ~160 ms within an hour) while the load
    average says nothing, so a run records it at its start and end."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        sum(i * i for i in range(2_000_000))
        best = min(best, time.perf_counter() - started)
    return round(best * 1000, 1)


def machine() -> dict[str, str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "unknown"
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024 / 1024:.1f} GiB"
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": " ".join(Path("/proc/loadavg").read_text().split()[:3]),
    }
