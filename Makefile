# Spindle: `make dev` serves the API, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 2024
HOST ?= 127.0.0.1

# Tests use their own database and Redis db, never the ones `make dev` uses.
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/spindle
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: dev test lint services browser bench bench-inprocess bench-compare clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

install: $(VENV)/.installed

dev: $(VENV)/.installed
	$(BIN)/python manage.py migrate --no-input
	PORT=$(PORT) HOST=$(HOST) $(BIN)/python manage.py serve

services:
	bash scripts/ensure-services.sh

browser:
	bash scripts/ensure-browser.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .

test: $(VENV)/.installed services browser lint
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/pytest $(PYTEST_ARGS)

bench: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m bench

bench-inprocess: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m bench.inprocess

# The official server, pinned, in a venv of its own (bench/compare.py serves the same graphs with it).
OFFICIAL_VENV := .venv-official
OFFICIAL_PACKAGES := langgraph-cli[inmem]==0.4.40 langgraph-api==0.16.7

$(OFFICIAL_VENV)/.installed: Makefile
	$(PYTHON) -m venv $(OFFICIAL_VENV)
	$(OFFICIAL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(OFFICIAL_VENV)/bin/python -m pip install --quiet $(OFFICIAL_PACKAGES)
	touch $@

bench-compare: $(VENV)/.installed $(OFFICIAL_VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m bench.compare --official $(OFFICIAL_VENV)/bin/langgraph

clean:
	rm -rf $(VENV) $(OFFICIAL_VENV) spindle.sqlite3 .pytest_cache
