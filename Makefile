# Spindle: `make dev` serves the API, `make test` runs the whole suite.
PYTHON ?= python3
ROOT := $(patsubst %/,%,$(dir $(abspath $(lastword $(MAKEFILE_LIST)))))
VENV := $(ROOT)/.venv
BIN := $(VENV)/bin
PORT ?= 2024
HOST ?= 127.0.0.1

# Tests use their own database and Redis db, never the ones `make dev` uses.
TEST_DATABASE_URL ?= postgres://postgres:postgres@127.0.0.1:5432/spindle
TEST_REDIS_URL ?= redis://127.0.0.1:6379/15
# pytest-xdist worker processes, each taking whole test files, each with a Redis db of its
# own counting down from TEST_REDIS_URL's (tests/xdist_redis.py); 0 runs the suite in one process.
TEST_WORKERS ?= 2

.PHONY: install lock dev test lint services browser bench bench-inprocess bench-compare fuzz schemathesis soak clean js-deps

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# constraints.txt pins every dependency, so installs are reproducible; `make lock` refreshes it.
$(VENV)/.installed: $(ROOT)/pyproject.toml $(ROOT)/constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c '$(ROOT)/constraints.txt' -e '$(ROOT)[dev]'
	touch $@

install: $(VENV)/.installed

# Resolve pyproject.toml's dependencies afresh in a scratch venv and pin what it installed.
LOCK_VENV := $(ROOT)/.venv-lock
lock:
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(LOCK_VENV)/bin/python -m pip install --quiet -e '$(ROOT)[dev]'
	{ echo '# Pinned versions of every dependency of `pip install -e .[dev]` (make install uses it).'; \
	  echo '# Refresh with `make lock` after changing the dependencies in pyproject.toml.'; \
	  $(LOCK_VENV)/bin/python -m pip freeze --exclude-editable; } > $(ROOT)/constraints.txt
	rm -rf $(LOCK_VENV)

# Serves the working directory's langgraph.json (or LANGGRAPH_CONFIG), so another project can
# run `make -f path/to/spindle/Makefile dev` from its own folder.
dev: $(VENV)/.installed
	$(BIN)/python $(ROOT)/manage.py migrate --no-input -v 0
	SPINDLE_DEV=1 PORT=$(PORT) HOST=$(HOST) $(BIN)/python $(ROOT)/manage.py serve --reload

services:
	bash scripts/ensure-services.sh

browser:
	bash scripts/ensure-browser.sh

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy .
	$(BIN)/lint-imports

# The JS SDK's useStream test (tests/e2e/test_protocol_js.py) runs headless in Node; without
# npm it is skipped.
JS_DIR := tests/e2e/js
$(JS_DIR)/node_modules/.installed: $(JS_DIR)/package.json $(JS_DIR)/package-lock.json
	@if command -v npm >/dev/null; then npm ci --prefix $(JS_DIR) --silent --no-audit --no-fund && touch $@; \
	else echo "npm not found: the useStream test will be skipped"; fi

js-deps: $(JS_DIR)/node_modules/.installed

test: $(VENV)/.installed services browser lint js-deps
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m pytest \
		-p tests.xdist_redis -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

# A long, random round of the fuzz test (tests/e2e/test_fuzz.py); FUZZ_EXAMPLES per test.
FUZZ_EXAMPLES ?= 3000
fuzz: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SPINDLE_FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) \
		$(BIN)/pytest tests/e2e/test_fuzz.py --timeout 0

bench: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m bench

bench-inprocess: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(BIN)/python -m bench.inprocess

# A bounded soak (SOAK_SECONDS, default 600) of double texting with worker kills and Redis
# restarts on private services; not part of `make test`.
soak: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) $(BIN)/python -m bench.soak

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
	rm -rf $(VENV) $(OFFICIAL_VENV) spindle.sqlite3 .pytest_cache $(JS_DIR)/node_modules

# Schemathesis over /openapi.json with many examples per operation (tests/e2e/schemathesis_run.py).
SCHEMATHESIS_EXAMPLES ?= 50
schemathesis: $(VENV)/.installed services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) SPINDLE_SCHEMATHESIS_EXAMPLES=$(SCHEMATHESIS_EXAMPLES) \
		SPINDLE_SCHEMATHESIS_PHASES=examples,coverage,fuzzing \
		$(BIN)/pytest -s -o timeout=0 tests/e2e/test_schemathesis.py $(PYTEST_ARGS)
