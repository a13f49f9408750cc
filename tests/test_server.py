"""The real ASGI server process answers the pages people and integrators open first."""

import urllib.request

import pytest

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
    assert b"Django administration" in admin.read() or b"Parley administration" in admin.read()
    # Static assets come from the same process (whitenoise / runserver_nostatic).
    htmx = urllib.request.urlopen(f"{proc.url}/static/vendor/htmx/htmx.min.js", timeout=10)
    assert htmx.status == 200
