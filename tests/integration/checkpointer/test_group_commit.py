"""The checkpointer's writes handed to a DbThread together commit as one transaction (a
group commit, core/db/thread.py), and a write the database refuses fails only its caller."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError, connection
from langgraph.checkpoint.base import empty_checkpoint

from core.db.thread import DbThread
from runs import services
from runs.dispatch import EXECUTE_RUN
from runs.models import CancelAction, Run
from tests.broker import remove_queued
from tests.factories import default_assistant, human
from threads.checkpointer import DjangoSaver
from threads.models import CheckpointWrite, Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the group commit is PostgreSQL's (SQLite runs each write alone)")


def claimed_runs(count: int) -> list[Run]:
    """`count` runs on threads of their own, created as the API creates them (their messages
    go to the broker; no worker takes them here) and claimed as a worker claims them."""
    runs = []
    for _ in range(count):
        run = services.run_create(
            thread_id=Thread.objects.create().pk,
            assistant=default_assistant("echo"),
            payload={"input": human("hi")},
        )
        claimed = services.run_claim(run_id=run.pk, worker="w@h:1")
        assert claimed is not None
        runs.append(claimed)
    return runs


@pytest.fixture(autouse=True)
def _broker_left_clean() -> Iterator[None]:
    if not settings.REDIS_URL:
        pytest.skip("needs the Redis broker (set REDIS_URL)")
    yield
    remove_queued(EXECUTE_RUN)


async def first_checkpoints(saver: DjangoSaver, count: int) -> list[dict[str, Any]]:
    """`count` claimed runs, each with the checkpoint LangGraph puts first; the config a
    task of each run writes with."""
    configs = []
    for run in await sync_to_async(claimed_runs)(count):
        config = {"configurable": {"thread_id": str(run.thread_id), "run_id": str(run.pk)}}
        put = await saver.aput(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
        configs.append({"configurable": {**put["configurable"], "run_id": str(run.pk)}})
    return configs


def transactions_of(run_ids: list[str]) -> dict[str, str]:
    """run_id -> the id of the transaction that wrote its checkpoint writes."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT run_id, xmin::text FROM {CheckpointWrite._meta.db_table} WHERE run_id = ANY(%s)",
            [run_ids],
        )
        return dict(cursor.fetchall())


async def write_together(saver: DjangoSaver, pool: DbThread, configs: list[dict]) -> list[Any]:
    """Hand every config's put_writes to the thread while it is busy, so they reach it as
    one batch; their outcomes (None or the exception)."""
    release = threading.Event()
    blocker = pool.submit(release.wait)
    while not blocker.running():
        await asyncio.sleep(0.001)
    calls = [
        asyncio.ensure_future(saver.aput_writes(config, [("messages", ["hi"])], "task-1"))
        for config in configs
    ]
    await asyncio.sleep(0.05)  # every call is queued behind the blocker
    release.set()
    return await asyncio.gather(*calls, return_exceptions=True)


async def test_writes_handed_over_together_commit_as_one_transaction() -> None:
    pool = DbThread()
    try:
        saver = DjangoSaver(bind_runs=True, executor=pool)
        configs = await first_checkpoints(saver, 3)

        outcomes = await write_together(saver, pool, configs)

        assert outcomes == [None, None, None]
        run_ids = [config["configurable"]["run_id"] for config in configs]
        written = await sync_to_async(transactions_of)(run_ids)
        assert sorted(written) == sorted(run_ids)
        assert len(set(written.values())) == 1, written
    finally:
        pool.shutdown()


async def test_a_refused_write_fails_only_its_own_call() -> None:
    pool = DbThread()
    try:
        saver = DjangoSaver(bind_runs=True, executor=pool)
        configs = await first_checkpoints(saver, 3)
        # The middle run is rolled back: its late write breaks the owner foreign key.
        gone = configs[1]["configurable"]["run_id"]
        await sync_to_async(services.run_cancel)(
            thread_id=uuid.UUID(configs[1]["configurable"]["thread_id"]),
            run_id=uuid.UUID(gone),
            action=CancelAction.ROLLBACK,
        )
        assert not await Run.objects.filter(pk=gone).aexists()

        outcomes = await write_together(saver, pool, configs)

        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], IntegrityError)
        kept = [configs[0]["configurable"]["run_id"], configs[2]["configurable"]["run_id"]]
        written = await sync_to_async(transactions_of)([*kept, gone])
        assert sorted(written) == sorted(kept)
    finally:
        pool.shutdown()
