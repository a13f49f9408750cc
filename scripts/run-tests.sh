#!/usr/bin/env bash
# The whole suite, twice: on the embedded default (SQLite + in-memory channel layer), then on
# PostgreSQL + Redis. Under CI=true a missing PostgreSQL or Redis fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

PG_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/parley}"
REDIS_TEST_URL="${REDIS_URL:-redis://127.0.0.1:6379/9}"

reachable() {  # host port
  "$PY" - "$1" "$2" <<'PY'
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
PY
}
host_port() {  # url -> "host port"
  "$PY" -c 'import sys, urllib.parse as u; p = u.urlparse(sys.argv[1]); print(p.hostname or "127.0.0.1", p.port or int(sys.argv[2]))' "$1" "$2"
}

echo "== lint (ruff)"
.venv/bin/ruff check .
.venv/bin/ruff format --check .

echo "== pass 1: embedded default (SQLite + in-memory channel layer)"
env -u DATABASE_URL -u REDIS_URL "$PY" -m pytest "$@"

echo "== pass 2: PostgreSQL + Redis"
services_up=1
reachable $(host_port "$PG_URL" 5432) || { echo "PostgreSQL not reachable at $PG_URL"; services_up=0; }
reachable $(host_port "$REDIS_TEST_URL" 6379) || { echo "Redis not reachable at $REDIS_TEST_URL"; services_up=0; }
if [ "$services_up" = 0 ]; then
  if [ "${CI:-}" = "true" ]; then
    echo "FAIL: CI=true requires PostgreSQL and Redis" >&2
    exit 1
  fi
  echo "SKIPPED pass 2: services not reachable (set DATABASE_URL / REDIS_URL, or start them)"
  exit 0
fi
# An aborted earlier run may have left connections to the test database; end them so it can
# be recreated.
"$PY" - "$PG_URL" "${TEST_DB_NAME:-test_parley}" <<'PY'
import sys, psycopg
with psycopg.connect(sys.argv[1].replace(sys.argv[1].rsplit("/", 1)[1], "postgres"), autocommit=True) as conn:
    conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [sys.argv[2]])
PY
DATABASE_URL="$PG_URL" REDIS_URL="$REDIS_TEST_URL" "$PY" -m pytest "$@"
