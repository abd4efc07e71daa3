"""The checkpointer's writes handed to a DbThread together commit as one transaction (a
group commit, core/db/thread.py), and a write the database refuses fails only its caller."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import IntegrityError, connection

from core.db.thread import DbThread
from runs.models import Run
from tests.factories import amake_run
from threads.checkpointer import DjangoSaver
from threads.models import CheckpointWrite, Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("the group commit is PostgreSQL's (SQLite runs each write alone)")


async def first_checkpoints(saver: DjangoSaver, count: int) -> list[dict[str, Any]]:
    """`count` threads, each with a running run and the checkpoint LangGraph puts first."""
    configs = []
    for _ in range(count):
        thread = await Thread.objects.acreate()
        run = await amake_run(thread, status="running")
        config = {"configurable": {"thread_id": str(thread.pk), "run_id": str(run.pk)}}
        checkpoint = {
            "v": 1,
            "id": f"1ef{thread.pk.hex[:29]}",
            "ts": "2026-12-01T00:00:00+00:00",
            "channel_values": {},
            "channel_versions": {},
            "versions_seen": {},
        }
        put = await saver.aput(config, checkpoint, {"source": "input", "step": -1}, {})
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
        # The middle run is gone (rolled back): its write breaks the owner foreign key.
        gone = configs[1]["configurable"]["run_id"]
        await Run.objects.filter(pk=gone).adelete()

        outcomes = await write_together(saver, pool, configs)

        assert outcomes[0] is None and outcomes[2] is None
        assert isinstance(outcomes[1], IntegrityError)
        kept = [configs[0]["configurable"]["run_id"], configs[2]["configurable"]["run_id"]]
        written = await sync_to_async(transactions_of)([*kept, gone])
        assert sorted(written) == sorted(kept)
    finally:
        pool.shutdown()
