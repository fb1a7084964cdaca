# Every target creates .venv and installs what it needs, so a fresh clone works.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format typecheck pytest demo bench bench-quick bench-webhooks clean lock audit

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Exact versions come from requirements.lock; the package itself is installed on top.
$(VENV)/.installed: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml requirements.lock | $(BIN)/python
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps -e ".[dev]"
	touch $(VENV)/.installed $@

# After changing dependencies in pyproject.toml: rebuild a clean venv and re-pin.
lock:
	rm -rf $(VENV) && $(MAKE) $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	$(BIN)/python -m pip freeze --exclude-editable | grep -v '^py-spy' > requirements.lock

# FAKE_TELEGRAM=1: send through a fake Telegram Bot API in the same process (README's
# Quick start); any bot token works and nothing reaches Telegram. PORT=8001: another port.
run: $(VENV)/.installed
	mkdir -p var
	$(BIN)/hushcast serve $(if $(FAKE_TELEGRAM),--fake-telegram) $(if $(PORT),--port $(PORT))

test: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy
	$(MAKE) pytest

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/mypy

format: $(VENV)/.installed-dev
	$(BIN)/ruff check --fix src tests
	$(BIN)/ruff format src tests

# Two passes: most tests in parallel processes (each has its own databases and fake
# Telegram server), then the `serial` ones alone: they time things or restart PostgreSQL.
PYTEST_WORKERS ?= 3
pytest: $(VENV)/.installed-dev
	$(BIN)/pytest -q -n $(PYTEST_WORKERS) -m "not serial"
	$(BIN)/pytest -q -m serial

# PORT=8001 / TELEGRAM_PORT=8082 when 8000 / 8081 are taken.
demo: $(VENV)/.installed
	$(BIN)/hushcast demo $(if $(PORT),--port $(PORT)) $(if $(TELEGRAM_PORT),--telegram-port $(TELEGRAM_PORT))

clean:
	rm -rf $(VENV) var/*.db*

# Benchmarks (not part of CI; see BENCHMARKS.md). Need wrk and PostgreSQL on 127.0.0.1:5432.
bench: $(VENV)/.installed-dev
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py

# Webhooks on vs off: the same broadcast side by side (--quick: 20,000 on SQLite).
bench-webhooks: $(VENV)/.installed-dev
	$(BIN)/python bench/webhooks.py

bench-quick: $(VENV)/.installed-dev
	@command -v wrk >/dev/null || (apt-get update -qq && apt-get install -y -qq wrk)
	$(BIN)/python bench/run.py --quick

# Known-vulnerability audit of the pinned dependencies. Needs a vulnerability service
# (PyPI's JSON API or OSV); --strict makes a package that could not be checked fail
# the run instead of passing silently. Not in CI: neither service is reachable from
# the machines this project is built on (see docs/reliability.md).
audit: $(BIN)/python
	$(BIN)/python -m pip install --quiet pip-audit
	$(BIN)/pip-audit --strict -r requirements.lock
