"""docker-compose.yml: valid by the Compose specification, and in step with what the code reads.

No Docker engine runs here; tests/test_deploy.py drives the same nginx configuration natively.
"""

from __future__ import annotations

import re
import subprocess
import sys

import yaml

from conftest import ROOT

COMPOSE = ROOT / "docker-compose.yml"
# Read by something other than settings.py's own env helpers: dj_database_url.config()
# (DATABASE_URL), boto3 (the S3 credentials), ``python -m chatsite.serve``.
READ_ELSEWHERE = {"DATABASE_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "WORKERS", "WS_DEFLATE"}
_SETTING = re.compile(r'(?:env_\w+|os\.environ\.get)\(\s*"([A-Z][A-Z0-9_]*)"')


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def settings_reads() -> set[str]:
    return set(_SETTING.findall((ROOT / "chatsite" / "settings.py").read_text()))


def test_compose_file_is_valid_by_the_compose_specification():
    # check-jsonschema ships the Compose specification's JSON schema (vendor.compose-spec).
    result = subprocess.run(
        [sys.executable, "-m", "check_jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_app_environment_is_exactly_what_the_code_reads():
    listed = [entry.split("=", 1)[0] for entry in compose()["x-app"]["environment"]]
    assert len(listed) == len(set(listed)), "a variable is listed twice"
    reads = settings_reads()
    assert {"SECRET_KEY", "DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES"} <= reads | READ_ELSEWHERE
    assert set(listed) == reads | READ_ELSEWHERE, (
        f"missing from compose: {sorted((reads | READ_ELSEWHERE) - set(listed))};"
        f" read by nothing: {sorted(set(listed) - reads - READ_ELSEWHERE)}"
    )


def test_every_service_the_deployment_needs_is_there_with_a_health_check():
    services = compose()["services"]
    assert {"nginx", "app1", "app2", "migrate", "db", "redis", "minio", "bucket"} <= set(services)
    for name in ("nginx", "app1", "app2", "db", "redis", "minio"):
        assert "healthcheck" in services[name], name
    for name in ("app1", "app2"):  # migrations run once, before either app process starts
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert "migrate" not in " ".join(services[name]["command"])
    assert "migrate" in " ".join(services["migrate"]["command"])
    assert services["nginx"]["depends_on"] == {
        "app1": {"condition": "service_healthy"},
        "app2": {"condition": "service_healthy"},
    }


def test_nginx_gets_every_variable_its_configuration_uses_and_only_those_are_substituted():
    nginx = compose()["services"]["nginx"]
    template = (ROOT / "deploy" / "nginx.conf").read_text()
    used = set(re.findall(r"\$\{([A-Z0-9_]+)\}", template))
    assert set(nginx["environment"]) == used
    substituted = set(
        re.findall(r"\$\$\{([A-Z0-9_]+)\}", COMPOSE.read_text().split("envsubst", 1)[1].split("<", 1)[0])
    )
    assert substituted == used
    assert "./deploy/nginx.conf:/etc/parley/nginx.conf:ro" in nginx["volumes"]
    # The app believes forwarded headers from nginx's fixed address, and from nothing else.
    proxies = next(e for e in compose()["x-app"]["environment"] if e.startswith("TRUSTED_PROXIES="))
    assert proxies == f"TRUSTED_PROXIES={nginx['networks']['default']['ipv4_address']}"
