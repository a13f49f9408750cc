#!/usr/bin/env bash
# The browser tests' accessibility checks use axe-core from npm (package.json). Install Debian's
# nodejs and npm when npm is missing and we may (root, apt available); otherwise say how.
set -euo pipefail
if command -v npm >/dev/null; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "== installing Debian nodejs and npm for the browser tests' axe-core"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm >/dev/null
else
  echo "npm is missing: run 'sudo apt-get install nodejs npm' (the browser tests take axe-core from npm)" >&2
  exit 1
fi
