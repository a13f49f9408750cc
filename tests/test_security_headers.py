"""Production mode (DEBUG=false) as a browser meets it: a real server process behind a TLS
proxy (``X-Forwarded-Proto: https``, SECURE_PROXY_SSL_HEADER on), its security headers on pages
and the API, and the flags of every cookie it sets, the session's after a real log-in included.
tests/test_settings.py checks the settings themselves; this checks what goes over the wire."""

from __future__ import annotations

import http.client
import re
from urllib.parse import urlencode

import pytest

from conftest import PASSWORD

pytestmark = pytest.mark.server


def fetch(port: int, method: str, path: str, headers: dict[str, str], body: str | None = None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    try:
        conn.request(method, path, body=body, headers={"X-Forwarded-Proto": "https", **headers})
        response = conn.getresponse()
        response.read()
        return response.status, response.headers
    finally:
        conn.close()


def cookies(headers) -> dict[str, dict[str, str | bool]]:
    """Each Set-Cookie: its attributes, lower-cased (True for a flag that is present)."""
    out = {}
    for line in headers.get_all("Set-Cookie") or []:
        name = line.split("=", 1)[0].strip()
        attributes: dict[str, str | bool] = {}
        for part in line.split(";")[1:]:
            key, _, value = part.strip().partition("=")
            attributes[key.lower()] = value or True
        out[name] = attributes
    return out


def assert_security_headers(headers, where: str) -> None:
    hsts = headers.get("Strict-Transport-Security", "")
    assert int(re.search(r"max-age=(\d+)", hsts).group(1)) >= 31_536_000, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in (
        "same-origin",
        "strict-origin-when-cross-origin",
        "no-referrer",
    ), where
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    framing = headers.get("X-Frame-Options") == "DENY" or "frame-ancestors 'none'" in headers.get(
        "Content-Security-Policy", ""
    )
    assert framing, where


def test_production_headers_and_cookie_flags_over_https(start_server, make_user):
    make_user("alice")
    server = start_server(
        extra_env={
            "DEBUG": "false",
            "SECRET_KEY": "s" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_PROXY_SSL_HEADER": "true",
        }
    )
    host = f"127.0.0.1:{server.port}"
    # Pages are not fetched: with DEBUG off they need collected static files (minutes of
    # collectstatic here; tests/test_deploy.py serves them). The log-in post renders nothing.
    token = "a" * 32  # any well-formed token matches the cookie that carries it
    status, headers = fetch(
        server.port,
        "POST",
        "/login/",
        {
            "Host": host,
            "Origin": f"https://{host}",
            "Referer": f"https://{host}/login/",
            "Cookie": f"csrftoken={token}",
            "Content-Type": "application/x-www-form-urlencoded",
        },
        urlencode({"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token}),
    )
    assert status == 302, status
    assert_security_headers(headers, "log-in")
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    set_cookies = cookies(headers)
    assert {"sessionid", "parley_device", "csrftoken"} <= set(set_cookies), set_cookies
    # Not HttpOnly (Django's default): every page carries the token anyway, for htmx.
    assert set_cookies["csrftoken"]["secure"] is True and set_cookies["csrftoken"]["samesite"] == "Lax"
    for name in ("sessionid", "parley_device"):
        flags = set_cookies[name]
        assert flags["secure"] is True and flags["httponly"] is True and flags["samesite"] == "Lax", (
            name,
            flags,
        )

    # The API, its errors and the health check carry them too.
    for path in ("/api/", "/api/no-such-thing/", "/healthz"):
        _, headers = fetch(server.port, "GET", path, {"Host": host})
        assert_security_headers(headers, path)
