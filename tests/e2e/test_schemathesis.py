"""Schemathesis over /openapi.json against a live stack of its own: no server error, no answer
the document does not describe, and nothing left running or busy afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from tests.e2e.schemathesis_run import leftovers, run_schemathesis
from tests.e2e.stack import Stack, private_stack

pytestmark = pytest.mark.e2e

# The suite sends a few generated requests per operation; `make schemathesis` many more,
# and adds the coverage phase (every boundary and every invalid variant of each field).
EXAMPLES = int(os.environ.get("SPINDLE_SCHEMATHESIS_EXAMPLES", "5"))
PHASES = os.environ.get("SPINDLE_SCHEMATHESIS_PHASES", "examples,fuzzing")


@pytest.fixture
def fuzzed(tmp_path) -> Iterator[Stack]:
    """A stack with its own database and Redis: generated requests delete and patch
    whatever they find (system assistants included), which no other test should see."""
    with private_stack("schemathesis", tmp_path) as (stack, _):
        stack.start_web()
        stack.start_worker()
        yield stack


@pytest.mark.timeout(3600)
def test_the_api_keeps_to_its_document_under_generated_requests(fuzzed: Stack, tmp_path) -> None:
    result = run_schemathesis(
        fuzzed, examples=EXAMPLES, phases=PHASES, report_dir=tmp_path, seed=14
    )
    print(f"schemathesis: {result.summary()}")
    # Every documented operation (the agent protocols' too) but GET /threads/{id}/stream.
    assert result.operations >= 63, result.output
    assert result.examples > 0, result.output
    assert (result.failures, result.errors) == ([], []), result.output
    assert result.returncode == 0, result.output
    assert leftovers(fuzzed) == {"active_runs": [], "busy_threads_without_runs": []}
