#!/usr/bin/env bash
# The deployment test (tests/test_deploy.py) drives Parley through Debian's nginx with the repo's
# deploy/nginx.conf. Install it when it is missing and we may (root, apt available); otherwise
# say how (the test then fails under CI=true and is skipped otherwise).
set -euo pipefail
if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian nginx for the deployment test"
  apt-get update -qq
  # Installed, not started: the test runs its own instance with the repo's configuration.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq nginx >/dev/null
  if command -v service >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
else
  echo "nginx is missing: run 'sudo apt-get install nginx' (the deployment test needs it)" >&2
  exit 0
fi
