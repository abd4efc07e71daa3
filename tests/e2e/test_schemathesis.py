"""Schemathesis over /openapi.json against a live stack of its own: no server error, no answer
the document does not describe, and nothing left running or busy afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.schemathesis_run import leftovers, run_schemathesis
from tests.e2e.stack import RedisServer, Stack, drop_database, free_port, fresh_database, stack_env

pytestmark = pytest.mark.e2e

# The suite sends a few generated requests per operation; `make schemathesis` many more,
# and adds the coverage phase (every boundary and every invalid variant of each field).
EXAMPLES = int(os.environ.get("SPINDLE_SCHEMATHESIS_EXAMPLES", "5"))
PHASES = os.environ.get("SPINDLE_SCHEMATHESIS_PHASES", "examples,fuzzing")


@pytest.fixture
def fuzzed(tmp_path) -> Iterator[Stack]:
    """A stack with its own database and Redis: generated requests delete and patch
    whatever they find (system assistants included), which no other test should see."""
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("schemathesis needs PostgreSQL (set DATABASE_URL)")
    redis_server = RedisServer(tmp_path)
    redis_server.start()
    db_url = fresh_database(f"spindle_schemathesis_{os.getpid()}")
    env = {**stack_env(redis_url=redis_server.url, db_url=db_url), "SPINDLE_DB_POOL_SIZE": "5"}
    stack = Stack(url=f"http://127.0.0.1:{free_port()}", db_url=db_url, env=env, log_dir=tmp_path)
    try:
        stack.start_web()
        stack.start_worker()
        yield stack
    except Exception:
        print(stack.logs())
        raise
    finally:
        stack.stop()
        redis_server.stop()
        drop_database(db_url)


@pytest.mark.timeout(3600)
def test_the_api_keeps_to_its_document_under_generated_requests(fuzzed: Stack, tmp_path) -> None:
    result = run_schemathesis(fuzzed, examples=EXAMPLES, phases=PHASES, report_dir=tmp_path, seed=14)
    print(f"schemathesis: {result.summary()}")
    assert result.operations >= 40, result.output
    assert result.examples > 0, result.output
    assert (result.failures, result.errors) == ([], []), result.output
    assert result.returncode == 0, result.output
    assert leftovers(fuzzed) == {"active_runs": [], "busy_threads_without_runs": []}
