"""Shared fixtures: users, API clients, the channel layer, and real server processes.

The suite runs twice under ``make test``: on the embedded default (SQLite + in-memory layer)
and on PostgreSQL + Redis (DATABASE_URL / REDIS_URL set). ``BACKEND`` says which pass this is.
"""

from __future__ import annotations

import os
import random
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.conf import settings
from rest_framework.test import APIClient

from chatsite import serve

ROOT = Path(__file__).resolve().parent
ARTIFACTS = ROOT / "test-artifacts"
PASSWORD = "Correct-Horse-42!"
ON_SERVICES = bool(os.environ.get("DATABASE_URL")) and bool(os.environ.get("REDIS_URL"))


def pytest_configure(config: pytest.Config) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    db = settings.DATABASES["default"]
    if db["ENGINE"].endswith("sqlite3"):
        # A file, not :memory:, so real server processes started by tests see the same data.
        db.setdefault("TEST", {})["NAME"] = str(ARTIFACTS / f"test-{os.getpid()}.sqlite3")
    else:
        # Overridable so two runs on one machine (e.g. parallel helpers) do not collide.
        db.setdefault("TEST", {})["NAME"] = os.environ.get("TEST_DB_NAME", "test_parley")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if ON_SERVICES:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL + Redis: runs in make test's second pass")
    for item in items:
        if "services" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """After the run, end connections that killed server processes left behind, so the test
    database can be dropped."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )


@pytest.fixture(autouse=True)
def _clean_cache_and_layer() -> Iterator[None]:
    """Throttle counters and channel-layer state never leak from one test into the next.

    Each test runs its own event loop, but Channels keeps one layer object per process, and a
    channels-redis layer binds its receive lock and connections to the loop that first used
    them. Reusing it from the next test's loop can hang that loop's teardown, so every test
    gets a fresh layer object, after the shared Redis state was flushed by another fresh one.
    """
    from channels.layers import channel_layers, get_channel_layer
    from django.core.cache import cache

    cache.clear()
    channel_layers.backends.clear()
    layer = get_channel_layer()
    if hasattr(layer, "flush"):
        async_to_sync(layer.flush)()
    channel_layers.backends.clear()
    yield
    channel_layers.backends.clear()


@pytest.fixture(autouse=True)
def _presence_pushed_only_where_tested(settings) -> None:
    """In-process hubs push presence changes only in tests that set a push interval: other
    tests read a socket's frames one by one and would find a presence.updated among them."""
    settings.PRESENCE_PUSH_SECONDS = 3600


@pytest.fixture
def make_user(django_db_blocker) -> Callable[..., object]:
    from accounts.models import User

    counter = iter(range(1, 1_000_000))

    def make(username: str | None = None, password: str = PASSWORD, **extra: object) -> User:
        name = username or f"user{next(counter)}"
        return User.objects.create_user(username=name, password=password, **extra)

    return make


@pytest.fixture
def make_room(make_user) -> Callable[..., object]:
    """A room created through the service, with ``members`` joined/added through services."""
    from rooms import services

    def make(owner=None, *, name: str = "General", kind: str = "public", members: tuple = ()) -> object:
        owner = owner or make_user()
        room = services.room_create(creator=owner, name=name, kind=kind)
        for member in members:
            services.member_add(actor=owner, room_id=room.id, username=member.username)
        return room

    return make


@pytest.fixture
def room_of_two(make_user) -> tuple[object, object, object]:
    """(room, alice, bob): alice created the room, bob joined it, both through the services."""
    from rooms import services

    alice, bob = make_user(), make_user()
    room = services.room_create(creator=alice, name="two")
    services.room_join(user=bob, room_id=room.id)
    return room, alice, bob


def scheduled_broadcasts(callbacks: list) -> list[tuple[str, str, int | None]]:
    """(function name, event type, subject id) of each on-commit broadcast captured by
    pytest-django's ``django_capture_on_commit_callbacks``."""
    out = []
    for callback in callbacks:
        func = getattr(callback, "func", callback)
        arg = callback.args[0] if getattr(callback, "args", None) else None
        for event in arg if isinstance(arg, list) else [arg]:
            out.append((func.__name__, getattr(event, "type", None), getattr(event, "subject_id", None)))
    return out


def ephemeral_published(callbacks: list) -> list[tuple[str, dict, dict]]:
    """(kind name, payload, audience) of each ephemeral event published by the on-commit
    callbacks pytest-django's ``django_capture_on_commit_callbacks`` captured, alone or several
    in one publication."""
    from chatsite.realtime import broadcasts

    out = []
    for callback in callbacks:
        func = getattr(callback, "func", None)
        if func is broadcasts.ephemeral_publish:
            out.append((callback.args[0].name, callback.args[1], callback.keywords))
        elif func is broadcasts.ephemeral_publish_many:
            out.extend((e.kind.name, e.payload, e.audience) for e in callback.args[0])
    return out


def elements(html: str) -> list[tuple[str, dict[str, str | None]]]:
    """(tag, attributes) of every element in an HTML fragment, as a browser's parser sees them."""
    from html.parser import HTMLParser

    found: list[tuple[str, dict[str, str | None]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, dict(attrs)))

    Collector().feed(html)
    return found


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def auth_api(make_user) -> Callable[..., APIClient]:
    """An API client authenticated as a user (force_authenticate: auth itself is tested apart)."""

    def make(user: object | None = None) -> APIClient:
        client = APIClient()
        client.force_authenticate(user or make_user())
        return client

    return make


# --- Real server processes -----------------------------------------------------------------------


# make test runs its two passes side by side: each takes its servers' ports from its own range,
# below the kernel's ephemeral ports (32768+), so one pass never reaches the other's server on
# a port both were told was free.
PORTS = range(27000, 32700) if ON_SERVICES else range(20000, 26900)


def free_port() -> int:
    rng = random.Random()
    while True:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", rng.choice(PORTS)))
            except OSError:
                continue
            return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"server on port {port} did not start in {timeout}s")


def server_env() -> dict[str, str]:
    """Environment for a child server process that shares this test run's database and layer."""
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    env["DJANGO_SETTINGS_MODULE"] = "chatsite.settings"
    env["DEBUG"] = "true"
    env["PYTHONUNBUFFERED"] = "1"
    if db["ENGINE"].endswith("sqlite3"):
        env["DATABASE_URL"] = f"sqlite:///{db['NAME']}"
    else:
        user = db.get("USER") or "postgres"
        host = db.get("HOST") or "127.0.0.1"
        port = db.get("PORT") or 5432
        env["DATABASE_URL"] = f"postgres://{user}@{host}:{port}/{db['NAME']}"
    return env


class ServerProcess:
    """One real ASGI server process (the production entry point, not a test double)."""

    def __init__(self, port: int, proc: subprocess.Popen, log: Path) -> None:
        self.port = port
        self.proc = proc
        self.log = log
        self.url = f"http://127.0.0.1:{port}"
        self.ws_url = f"ws://127.0.0.1:{port}"

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


def launch_server(
    server: str = "uvicorn", extra_env: dict[str, str] | None = None, port: int | None = None
) -> ServerProcess:
    """One real server process on a free port (or ``port``), serving this test run's database; the
    caller stops it. Tests use the ``start_server`` fixture; this is for fixtures of a wider scope."""
    port = port or free_port()
    log = ARTIFACTS / f"server-{port}.log"
    env = server_env() | (extra_env or {})
    if server == "daphne":
        cmd = [
            sys.executable,
            "-m",
            "daphne",
            "-b",
            "127.0.0.1",
            "-p",
            str(port),
            "chatsite.asgi:application",
        ]
    else:
        cmd = serve.command(port=port, deflate=serve.deflate_wanted(env))
    handle = log.open("wb")
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)
    server_proc = ServerProcess(port, proc, log)
    try:
        wait_for_port(port, proc)
    except BaseException:
        server_proc.stop()
        raise
    return server_proc


@pytest.fixture
def start_server(transactional_db) -> Iterator[Callable[..., ServerProcess]]:
    """Start real server processes: ``start_server(server="uvicorn"|"daphne")``."""
    started: list[ServerProcess] = []

    def start(server: str = "uvicorn", extra_env: dict[str, str] | None = None) -> ServerProcess:
        server_proc = launch_server(server, extra_env)
        started.append(server_proc)
        return server_proc

    yield start
    for server_proc in started:
        server_proc.stop()


# --- S3: a real S3 API (moto in server mode, its own process) -----------------------------------


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto S3 server for the session, with the dummy credentials boto3 needs to sign."""
    port = free_port()
    log = (ARTIFACTS / f"moto-{port}.log").open("wb")
    moto_server = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen([str(moto_server), "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=log)
    credentials = {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in credentials}
    os.environ.update(credentials)
    try:
        wait_for_port(port, proc)
        yield f"http://127.0.0.1:{port}"
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_bucket(moto_endpoint: str) -> tuple[str, str]:
    """(endpoint, bucket): a fresh, empty bucket for one test."""
    import uuid

    import boto3

    bucket = f"parley-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    return moto_endpoint, bucket


def s3_storages(endpoint: str, bucket: str) -> dict:
    """STORAGES with uploads on S3, as settings.py configures them from AWS_STORAGE_BUCKET_NAME."""
    return settings.STORAGES | {
        "default": {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": bucket,
                "endpoint_url": endpoint,
                "region_name": "us-east-1",
                "default_acl": None,
                "querystring_auth": True,
                "file_overwrite": False,
            },
        }
    }


def event_lines(response: object, until: str, wait: float = 10) -> list[str]:
    """Lines of a Server-Sent Events response being read (``urllib``), up to and including the
    first that contains ``until``."""
    seen: list[str] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        line = response.readline().decode()  # type: ignore[attr-defined]
        assert line, f"the stream ended: {seen}"
        seen.append(line.rstrip("\n"))
        if until in line:
            return seen
    raise AssertionError(f"no {until!r} in {wait} s: {seen}")
