# Nightshift — the two commands a newcomer needs are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
NS := $(BIN)/nightshift
HOST ?= 127.0.0.1
PORT ?= 8000
SIZE ?= small
PG_URL ?= postgres://postgres@127.0.0.1:5432/nightshift
PYTEST_ARGS ?=

.PHONY: help run test test-postgres test-browser test-mail lint format bench demo messages clean

## help: list the targets
help:
	@sed -n 's/^## //p' $(MAKEFILE_LIST)

# The virtualenv is rebuilt only when pyproject.toml changes; the stamp files record success.
# PYTHON=/path/to/python3.12 picks the interpreter when the one on PATH is too old.
$(VENV)/.runtime: pyproject.toml
	@if [ ! -x $(BIN)/python ]; then \
	  python="$$(scripts/find-python)" || exit 1; \
	  echo "Creating $(VENV) with $$python"; \
	  "$$python" -m venv $(VENV) || exit 1; \
	fi
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $@

$(VENV)/.dev: $(VENV)/.runtime
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev]'
	@touch $@

## messages: compile the translation catalogues (.po -> .mo)
messages: $(VENV)/.runtime
	$(NS) compile_catalogues

## run: install, migrate SQLite under var/, create the administrator, load demo data, serve
##      on http://127.0.0.1:8000/ (HOST=0.0.0.0 PORT=8080 to change); Ctrl-C stops everything
run: $(VENV)/.runtime messages
	$(NS) migrate --no-input -v0
	$(NS) bootstrap
	$(NS) serve --host $(HOST) --port $(PORT)

## demo: load demo data (SIZE=small|medium|large) into an empty database
demo: $(VENV)/.runtime
	$(NS) migrate --no-input -v0
	$(NS) demo --size $(SIZE)

## lint: ruff check and ruff format --check
lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

## format: apply ruff's formatting and safe fixes
format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## test: lint, migrations in step with models, then the whole suite on SQLite
test: $(VENV)/.dev lint messages
	$(NS) makemigrations --check --dry-run
	$(BIN)/pytest -m "not browser and not postgres and not imap" $(PYTEST_ARGS)

## test-postgres: the whole suite again on PostgreSQL (PG_URL=...), plus the tests that need it
test-postgres: $(VENV)/.dev messages
	DATABASE_URL=$(PG_URL) $(BIN)/pytest -m "not browser and not imap" $(PYTEST_ARGS)

## test-browser: Playwright driving Debian's Chromium
test-browser: $(VENV)/.dev messages
	$(BIN)/pytest -m browser $(PYTEST_ARGS)

## test-mail: the inbound e-mail tests against a real Dovecot IMAP server started on loopback
##            (apt-get install -y dovecot-imapd; they fail, never skip, without it)
test-mail: $(VENV)/.dev messages
	$(BIN)/pytest -m imap $(PYTEST_ARGS)

$(VENV)/.bench: $(VENV)/.dev
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[dev,bench]'
	@touch $@

## bench: run every benchmark in bench/ and print its figures
bench: $(VENV)/.bench
	@shopt -s nullglob; benches=(bench/[!_]*.py); [ $${#benches[@]} -gt 0 ] || echo "No benchmarks yet."; \
	for b in "$${benches[@]}"; do echo "== $$b"; $(BIN)/python "$$b" || exit 1; done

## clean: delete the virtualenv, caches AND var/ (the SQLite database, admin login, mail)
clean:
	rm -rf $(VENV) var test-artifacts .pytest_cache .ruff_cache
