"""Schemathesis over /openapi.json against the live stack: no server error, no answer the
document does not describe, and nothing left running or busy afterwards."""

from __future__ import annotations

import os

import pytest

from tests.e2e.schemathesis_run import leftovers, run_schemathesis

pytestmark = pytest.mark.e2e

# The suite sends a few generated requests per operation; `make schemathesis` many more,
# and adds the coverage phase (every boundary and every invalid variant of each field).
EXAMPLES = int(os.environ.get("SPINDLE_SCHEMATHESIS_EXAMPLES", "5"))
PHASES = os.environ.get("SPINDLE_SCHEMATHESIS_PHASES", "examples,fuzzing")


@pytest.mark.timeout(3600)
def test_the_api_keeps_to_its_document_under_generated_requests(stack, tmp_path) -> None:
    result = run_schemathesis(stack, examples=EXAMPLES, phases=PHASES, report_dir=tmp_path, seed=14)
    print(f"schemathesis: {result.summary()}")
    assert result.operations >= 40, result.output
    assert result.examples > 0, result.output
    assert (result.failures, result.errors) == ([], []), result.output
    assert result.returncode == 0, result.output
    left = leftovers(stack)
    assert left == {"active_runs": [], "busy_threads_without_runs": []}
