"""The real ASGI server process answers the pages people and integrators open first."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.server


@pytest.mark.parametrize("server", ["uvicorn", "daphne"])
def test_real_server_serves_home_docs_and_admin(start_server, server):
    proc = start_server(server=server)
    home = urllib.request.urlopen(f"{proc.url}/login/", timeout=10)
    assert home.status == 200
    assert b"Parley" in home.read()
    # "/" redirects anonymous visitors to the log-in page.
    root = urllib.request.urlopen(f"{proc.url}/", timeout=10)
    assert root.geturl().endswith("/login/?next=/")
    docs = urllib.request.urlopen(f"{proc.url}/api/docs/", timeout=10).read()
    assert b"swagger" in docs.lower()
    assert b"cdn" not in docs.lower()
    admin = urllib.request.urlopen(f"{proc.url}/admin/login/", timeout=10)
    assert admin.status == 200
    admin_page = admin.read()  # a response body reads once
    assert b"Django administration" in admin_page and b'name="password"' in admin_page
    # Static assets come from the same process (whitenoise / runserver_nostatic).
    htmx = urllib.request.urlopen(f"{proc.url}/static/vendor/htmx/htmx.min.js", timeout=10)
    assert htmx.status == 200


def test_server_entry_point_loads_views_and_freezes_its_startup_heap():
    """chatsite.asgi imports every view before serving and freezes what startup built, so no
    request pays for a full garbage collection over startup's objects (bench: 45-50 ms stalls)."""
    probe = (
        "import gc, json, sys; import chatsite.asgi; "
        "print(json.dumps({'frozen': gc.get_freeze_count(), "
        "'views': [m in sys.modules for m in ('messaging.api', 'rooms.views', 'drf_spectacular.views')]}))"
    )
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["views"] == [True, True, True]
    assert out["frozen"] > 50_000
