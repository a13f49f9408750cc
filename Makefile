# Parley: `make run` serves a seeded demo; `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2

.PHONY: run test serve bench lint format migrate seed clean

$(VENV)/.deps-run: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.deps-dev: $(VENV)/.deps-run requirements-dev.txt
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $@

# axe-core for the browser tests (package.json, pinned by package-lock.json). Reinstalled when the
# lock file changes or axe-core is gone; the empty rule makes a missing axe.min.js count as changed.
node_modules/.installed: package.json package-lock.json node_modules/axe-core/axe.min.js
	scripts/ensure-npm.sh
	npm ci --no-audit --no-fund
	touch $@

node_modules/axe-core/axe.min.js:

## run: venv, install, migrate, seed a demo, serve on http://$(HOST):$(PORT) (SQLite + in-memory layer)
run: $(VENV)/.deps-run
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py migrate --noinput
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py seed_chat --demo
	@echo "Parley on http://$(HOST):$(PORT)/  (Ctrl-C stops it)"
	env -u DATABASE_URL -u REDIS_URL $(PY) manage.py runserver $(HOST):$(PORT)

## test: the whole suite on SQLite + in-memory layer, then on PostgreSQL + Redis
test: $(VENV)/.deps-dev node_modules/.installed
	scripts/ensure-chromium.sh
	scripts/ensure-nginx.sh
	scripts/run-tests.sh

## serve: production shape, $(WORKERS) uvicorn workers on one port (needs DATABASE_URL, REDIS_URL)
serve: $(VENV)/.deps-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py collectstatic --noinput -v0
	$(PY) -m chatsite.serve --host $(HOST) --port $(PORT) --workers $(WORKERS)

## bench: the benchmark (bench/): production shape and peers, same run; rewrites bench/RESULTS.md
bench: $(VENV)/.deps-dev
	$(PY) -m bench

lint: $(VENV)/.deps-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.deps-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules db.sqlite3* test-artifacts staticfiles .pytest_cache
