# Transform: `make run` to try it, `make test` for the whole suite.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install browser run demo test check lint typecheck imports bench smoke schemathesis prod-check clean

install: $(STAMP)

$(STAMP): pyproject.toml node_modules/.installed
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

## The web interface's browser libraries (htmx, Cytoscape.js, Chart.js) at the versions pinned in
## package-lock.json; Django serves them from node_modules/ as static files.
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "Node.js and npm are needed: see README"; exit 1; }
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

## Debian's Chromium for the browser tests, installed when missing (never a downloaded build).
browser:
	@command -v chromium >/dev/null || bash scripts/install_chromium.sh

var:
	@mkdir -p var/outbox var/broker/out var/broker/processed

## Migrate, load the demo organisation, then serve the web app with a Celery worker and beat.
## Ctrl-C stops all three.
run: install var demo
	@bash scripts/run.sh $(HOST) $(PORT)

# One password for the demo login and the role logins (demo-agent, demo-manager, demo-leader).
ifndef DEMO_PASSWORD
DEMO_PASSWORD := $(shell $(PYTHON) -c "import secrets; print(secrets.token_urlsafe(9))")
endif

demo: install var
	$(BIN)/python manage.py migrate --no-input
	DEMO_PASSWORD='$(DEMO_PASSWORD)' $(BIN)/python manage.py load_demo
	DEMO_PASSWORD='$(DEMO_PASSWORD)' $(BIN)/python manage.py seed_demo

## The whole test suite, browser tests included (PostgreSQL and Redis when DATABASE_URL /
## CELERY_BROKER_URL say so), in one process per core: each gets its own test database and takes
## whole files, so a module builds its world once (docs/architecture.md#tests).
## TEST_ARGS passes more options, e.g. make test TEST_ARGS='-m "not browser"'.
TEST_ARGS ?=
test: install browser var
	$(BIN)/python -m pytest -n auto --dist loadfile $(TEST_ARGS)

## Lint, type-check and check the import layers.
check: lint typecheck imports

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy .

## The layers of docs/architecture.md (import-linter contracts in pyproject.toml).
imports: install
	$(BIN)/lint-imports

## Timing goals (docs/performance.md): every workload of issue 14 against its baseline of the same
## run, one table and var/bench/results.json, on PostgreSQL and Redis (DATABASE_URL, else the
## throw-away database transform_bench); then the YAML alias bomb refused within 100 ms and 50 MB.
## BENCH_ARGS=--quick runs a tenth of the sizes.
bench: install var
	$(BIN)/python -m benchmarks.run $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.alias_bomb

## The embedded defaults, end to end: migrate, load the demo and analyse it on SQLite.
smoke: install
	bash scripts/smoke.sh

## The API contract (docs/api.md#schema-and-its-checks): Schemathesis against the demo served by
## gunicorn on a free port from a throwaway database (PostgreSQL when DATABASE_URL says so, else
## SQLite); fails on any 5xx, schema violation or undocumented status code.
## SCHEMATHESIS_MAX_EXAMPLES=N for more or fewer cases, SCHEMATHESIS_ARGS for more options.
schemathesis: install
	bash scripts/schemathesis.sh

## The production topology of docs/deployment.md on this machine, end to end through HTTP:
## gunicorn (3 workers), a Celery worker per queue and one beat, against PostgreSQL (the fresh
## database transform_prod) and Redis (databases 7 and 6); stops everything it started.
prod-check: install
	$(BIN)/python scripts/prod_check.py

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
