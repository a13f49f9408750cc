"""The production shape for tests: Debian's nginx with the repo's deploy/nginx.conf (rendered as
docker-compose.yml renders it) in front of two app processes (``python -m chatsite.serve``, DEBUG
off, collected static files) on this run's database and Redis, uploads on S3 (moto in server
mode). Fixtures for tests/test_deploy.py and the browser test that drives a page through it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ARTIFACTS, ROOT, ServerProcess, free_port, launch_server, server_env, wait_for_port

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
TEMPLATE = ROOT / "deploy" / "nginx.conf"
_VARIABLE = re.compile(r"\$\{([A-Z0-9_]+)\}")


def render_nginx_conf(values: dict[str, str]) -> str:
    """deploy/nginx.conf with its ``${NAME}``s filled in, as compose's envsubst does; every name
    the file uses must be given (envsubst would leave it empty, and nginx would fail)."""
    text = TEMPLATE.read_text()
    missing = set(_VARIABLE.findall(text)) - set(values)
    if missing:
        raise KeyError(f"deploy/nginx.conf needs {sorted(missing)}")
    return _VARIABLE.sub(lambda m: values[m.group(1)], text)


@pytest.fixture(scope="module")
def static_root() -> Iterator[Path]:
    """What `manage.py collectstatic` writes with DEBUG off (hashed names, a manifest, .gz files)."""
    # Not under pytest's private tmp: nginx's workers run as an unprivileged user and must read it.
    root = ARTIFACTS / f"static-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(mode=0o755)
    env = server_env() | {"DEBUG": "false", "SECRET_KEY": "collectstatic-only", "STATIC_ROOT": str(root)}
    subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    yield root
    shutil.rmtree(root, ignore_errors=True)


@dataclass
class Deployment:
    url: str
    ws_url: str
    apps: list[ServerProcess]
    nginx: subprocess.Popen
    app_env: dict[str, str] = field(default_factory=dict)

    def restart(self, index: int) -> ServerProcess:
        """Start app process ``index`` again, on its port (after it was stopped or killed)."""
        self.apps[index].stop()
        self.apps[index] = launch_server(extra_env=self.app_env, port=self.apps[index].port)
        return self.apps[index]


@pytest.fixture
def deployment(transactional_db, static_root, tmp_path, s3_bucket) -> Iterator[Deployment]:
    """nginx and two app processes, uploads on S3 (moto in server mode, as MinIO in compose)."""
    if not Path(NGINX).exists():
        missing = "nginx is not installed (scripts/ensure-nginx.sh installs Debian's)"
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    env = {
        "DEBUG": "false",
        "SECRET_KEY": "deployment-test-" + "x" * 40,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_COOKIES": "false",
        "SECURE_HSTS_SECONDS": "0",
        "TRUSTED_PROXIES": "127.0.0.1",
        "STATIC_ROOT": str(static_root),
        "SEND_RATE_LIMIT": "1000",
        "SSE_HEARTBEAT_SECONDS": "1",  # so a test sees heartbeats pass nginx
        "LOGIN_THROTTLE_IP_ATTEMPTS": "5",
        "AWS_S3_ENDPOINT_URL": s3_bucket[0],
        "AWS_STORAGE_BUCKET_NAME": s3_bucket[1],
        "AWS_S3_REGION_NAME": "us-east-1",
    }
    apps: list[ServerProcess] = []
    nginx = None
    try:
        apps = [launch_server(extra_env=env), launch_server(extra_env=env)]
        port = free_port()
        runtime = tmp_path / "nginx"
        runtime.mkdir()
        conf = runtime / "nginx.conf"
        conf.write_text(
            render_nginx_conf({
                "NGINX_LISTEN": f"127.0.0.1:{port}",
                "NGINX_WORKERS": "1",
                "NGINX_RUNTIME": str(runtime),
                "PARLEY_APP_1": f"127.0.0.1:{apps[0].port}",
                "PARLEY_APP_2": f"127.0.0.1:{apps[1].port}",
                "PARLEY_STATIC_ROOT": str(static_root),
            })
        )  # fmt: skip
        log = (ARTIFACTS / f"nginx-{port}.log").open("wb")
        nginx = subprocess.Popen(
            [NGINX, "-c", str(conf), "-p", str(runtime), "-g", "daemon off;"], stdout=log, stderr=log
        )
        wait_for_port(port, nginx)
        yield Deployment(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}", apps, nginx, env)
    finally:
        if nginx is not None:
            nginx.terminate()
            nginx.wait(timeout=10)
        for app in apps:
            app.stop()
