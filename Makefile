# Spindle: `make dev` serves the API, `make test` runs the whole suite.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 2024
HOST ?= 127.0.0.1

# Tests use their own database and Redis db, never the ones `make dev` uses.
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/spindle
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15

.PHONY: dev test lint services browser bench bench-inprocess soak clean

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

# A bounded soak (SOAK_SECONDS, default 600) of double texting with worker kills and Redis
# restarts on private services; not part of `make test`.
soak: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m bench.soak

clean:
	rm -rf $(VENV) spindle.sqlite3 .pytest_cache
