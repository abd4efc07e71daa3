"""A worker process hears every run's cancel channel through one subscription, made before
its first claim: a cancel reaches the run it names, in this process, even mid-claim."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings

from runs import runner, streams
from runs.executor import RunExecution
from runs.models import Run

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


@pytest.fixture
def process_runner() -> Iterator[runner.Runner]:
    r = runner.Runner(slots=2)
    try:
        assert r.pubsub is not None, "the subscription is confirmed before the runner is used"
        yield r
    finally:
        r.close()


def _until(check, timeout: float = 3.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.01)
    return False


def test_a_cancel_reaches_the_run_it_names_and_no_other(process_runner: runner.Runner) -> None:
    named, other = (
        RunExecution(Run(run_id=uuid.uuid4(), thread_id=uuid.uuid4())) for _ in range(2)
    )
    with process_runner.lock:
        process_runner.active.update({named.run_id: named, other.run_id: other})

    streams.send_cancel(named.run_id, "rollback")
    streams.send_cancel(str(uuid.uuid4()), "interrupt")  # a run of another process

    assert _until(lambda: named.cancel_action == "rollback")
    time.sleep(0.2)
    assert other.cancel_action is None


def test_a_cancel_during_the_claim_is_kept_for_the_run(process_runner: runner.Runner) -> None:
    run_id = str(uuid.uuid4())
    with process_runner.lock:
        process_runner.claiming[run_id] = None

    streams.send_cancel(run_id, "interrupt")

    assert _until(lambda: process_runner.claiming.get(run_id) == "interrupt")
