"""Join's wait (runs/waits.py) against the real database and Redis: the end marker seen live
answers without a second read; a marker without values falls back to the database."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from asgiref.sync import sync_to_async

from runs import streams, waits
from runs.models import Run, RunStatus
from runs.services import WORKER_LOST_ERROR
from tests.factories import make_run, make_thread
from threads.models import Thread

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("fresh_redis_clients"),
]


@sync_to_async
def running_run(values: dict) -> Run:
    return make_run(make_thread(values=values), status=RunStatus.RUNNING)


@sync_to_async
def end_in_database(run: Run, status: str, values: dict | None, error: dict | None = None) -> None:
    Run.objects.filter(pk=run.pk).update(status=status, error=error)
    if values is not None:
        Thread.objects.filter(pk=run.thread_id).update(values=values)


async def test_a_join_that_sees_the_end_marker_answers_from_it_without_reading_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    run = await running_run({"messages": ["before"]})
    reads = []
    real = waits._run_row_sync
    monkeypatch.setattr(waits, "_run_row_sync", lambda *a: reads.append(a) or real(*a))
    joining = asyncio.ensure_future(waits.run_join_body(run.thread_id, run.pk))
    await asyncio.sleep(0.2)
    await end_in_database(run, RunStatus.SUCCESS, {"messages": ["before", "after"]})
    streams.publish_end(
        str(run.pk),
        {"status": "success", "values": {"messages": ["before", "after"]}, "error": None},
    )

    assert await asyncio.wait_for(joining, 5) == {"messages": ["before", "after"]}
    assert len(reads) == 1, "only the read before the wait"


async def test_an_error_marker_answers_the_error() -> None:
    run = await running_run({})
    joining = asyncio.ensure_future(waits.run_join_body(run.thread_id, run.pk))
    await asyncio.sleep(0.2)
    error = {"error": "ValueError", "message": "boom"}
    await end_in_database(run, RunStatus.ERROR, None, error)
    streams.publish_end(str(run.pk), {"status": "error", "values": {}, "error": error})
    assert await asyncio.wait_for(joining, 5) == {"__error__": error}


async def test_a_marker_without_values_is_answered_from_the_database() -> None:
    run = await running_run({"messages": ["kept"]})
    joining = asyncio.ensure_future(waits.run_join_body(run.thread_id, run.pk))
    await asyncio.sleep(0.2)
    await end_in_database(run, RunStatus.INTERRUPTED, None)
    streams.publish_end(str(run.pk), {"status": "interrupted"})  # as for a pending run interrupted
    assert await asyncio.wait_for(joining, 5) == {"messages": ["kept"]}


async def test_the_sweepers_marker_answers_the_worker_lost_error() -> None:
    run = await running_run({})
    joining = asyncio.ensure_future(waits.run_join_body(run.thread_id, run.pk))
    await asyncio.sleep(0.2)
    await end_in_database(run, RunStatus.ERROR, None, WORKER_LOST_ERROR)
    streams.publish_end(str(run.pk), {"status": RunStatus.ERROR, "error": WORKER_LOST_ERROR})
    assert await asyncio.wait_for(joining, 5) == {"__error__": WORKER_LOST_ERROR}


async def test_a_join_on_a_finished_run_reads_once(monkeypatch: pytest.MonkeyPatch) -> None:
    run = await running_run({"messages": ["old"]})
    await end_in_database(run, RunStatus.SUCCESS, {"messages": ["old", "new"]})
    reads = []
    real = waits._run_row_sync
    monkeypatch.setattr(waits, "_run_row_sync", lambda *a: reads.append(a) or real(*a))
    assert await waits.run_join_body(run.thread_id, run.pk) == {"messages": ["old", "new"]}
    assert len(reads) == 1


async def test_a_join_on_another_threads_run_or_a_missing_one_is_not_found() -> None:
    run = await running_run({})
    assert await waits.run_join_body(uuid.uuid4(), run.pk) == waits.RUN_NOT_FOUND
    assert await waits.run_join_body(run.thread_id, uuid.uuid4()) == waits.RUN_NOT_FOUND
