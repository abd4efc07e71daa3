"""The worker's cancel-channel connection is reused from run to run: a late message for an
earlier run never reaches the next one."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings

from runs import executor, streams
from runs.models import Run

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


def test_the_connection_is_kept_from_run_to_run() -> None:
    earlier, current = str(uuid.uuid4()), str(uuid.uuid4())
    control = executor._subscribe(earlier)
    assert control is not None
    executor._release(control, earlier, reusable=True)
    assert executor._subscribe(current) is control
    executor._release(control, current, reusable=False)
    assert executor._control is None


def test_a_message_for_an_earlier_run_is_ignored() -> None:
    earlier, current = str(uuid.uuid4()), str(uuid.uuid4())
    control = executor._subscribe(earlier)
    # The earlier run's channel is still subscribed: its late message is in flight.
    control.subscribe(streams.control_channel(current))
    execution = executor.RunExecution(Run(run_id=uuid.UUID(current), thread_id=uuid.uuid4()), control)
    try:
        streams.send_cancel(earlier, "rollback")
        streams.send_cancel(current, "interrupt")
        seen = []
        for _ in range(10):
            if message := execution._next_message(control, timeout=0.2):
                seen.append(message)
        assert seen == [f"{streams.CANCEL_PREFIX}interrupt"]
    finally:
        execution.loop.close()
        executor._release(control, current, reusable=False)
