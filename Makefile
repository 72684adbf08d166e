# Nightshift — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin
NS := $(BIN)/nightshift
HOST ?= 127.0.0.1
PORT ?= 8000
SIZE ?= small
PG_URL ?= postgres://postgres@127.0.0.1:5432/nightshift
PYTEST_ARGS ?=

.PHONY: run test test-postgres test-browser lint format bench demo messages clean

$(VENV)/.runtime: pyproject.toml
	@test -x $(BIN)/python || "$$(scripts/find-python)" -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $@

messages: $(VENV)/.runtime
	$(NS) compile_catalogues

## run: install, migrate SQLite under var/, create the administrator, load demo data, serve
run: $(VENV)/.runtime messages
	$(NS) migrate --no-input -v0
	$(NS) bootstrap
	$(NS) serve --host $(HOST) --port $(PORT)

demo: $(VENV)/.runtime
	$(NS) migrate --no-input -v0
	$(NS) demo --size $(SIZE)

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## test: lint, migrations in step with models, then the whole suite on SQLite
test: lint messages $(VENV)/.dev
	$(NS) makemigrations --check --dry-run
	$(BIN)/pytest -m "not browser and not postgres" $(PYTEST_ARGS)

## test-postgres: the whole suite again on PostgreSQL, plus the tests that need it
test-postgres: messages $(VENV)/.dev
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser" $(PYTEST_ARGS)

## test-browser: Playwright driving Debian's Chromium
test-browser: messages $(VENV)/.dev
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

bench: $(VENV)/.dev
	@for b in bench/*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .ruff_cache
