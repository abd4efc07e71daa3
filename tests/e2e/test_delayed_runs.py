"""after_seconds against a real worker and beat: the sweeper (every second here, a
message taken for lost after 3 s) must not start a delayed run before it is due."""

from __future__ import annotations

import pytest

from tests.e2e.test_multitask_strategies import human

pytestmark = pytest.mark.e2e


async def test_a_delayed_run_starts_when_it_is_due_not_when_the_sweeper_looks(
    client, stack
) -> None:
    thread = await client.threads.create()
    tid = thread["thread_id"]
    run = await client.runs.create(tid, "echo", input=human("later"), after_seconds=6)
    await client.runs.join(tid, run["run_id"])
    [(status, delay, attempt)] = stack.sql(
        "select status, extract(epoch from started_at - created_at), attempt from runs_run where run_id = %s",
        run["run_id"],
    )
    assert status == "success"
    assert delay >= 6 - 1  # the claim's leeway
    assert attempt == 1
