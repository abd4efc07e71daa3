"""The worker keeps its database connection from run to run without pinging it first: a
claim that meets a dead connection (the database restarted) is retried on a new one."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import OperationalError, connection

from assistants.graphs import default_assistant_id
from assistants.models import Assistant
from assistants.services import assistant_ensure_defaults
from runs import executor, services
from runs.models import RunStatus
from tests.conftest import Dispatched
from threads.models import Thread

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kills a PostgreSQL backend"),
]


def test_a_claim_on_a_connection_the_database_dropped_is_retried(
    monkeypatch: pytest.MonkeyPatch, dispatched: Dispatched
) -> None:
    assistant_ensure_defaults()
    run = services.run_create(
        thread_id=Thread.objects.create().pk,
        assistant=Assistant.objects.get(pk=default_assistant_id("echo")),
        payload={"input": {}},
    )
    backend = _backend_pid()
    _terminate_backend(backend)

    claimed = executor.claim(run.pk, worker="test:1")

    assert claimed is not None and claimed.status == RunStatus.RUNNING
    assert connection.connection.info.backend_pid != backend


def _terminate_backend(pid: int) -> None:
    params = settings.DATABASES["default"]
    with psycopg.connect(
        host=params["HOST"],
        port=params["PORT"] or 5432,
        user=params["USER"],
        password=params["PASSWORD"],
        dbname=connection.settings_dict["NAME"],
        autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [pid])


def _backend_pid() -> int:
    connection.ensure_connection()
    return connection.connection.info.backend_pid


async def test_a_checkpointer_call_on_a_connection_the_database_dropped_is_retried() -> None:
    from langgraph.checkpoint.base import empty_checkpoint

    from threads.checkpointer import DjangoSaver

    pool = executor.DatabaseThread()
    try:
        saver = DjangoSaver(executor=pool)
        config = {"configurable": {"thread_id": "dropped", "checkpoint_ns": ""}}
        checkpoint = empty_checkpoint()
        await saver.aput(config, checkpoint, {}, {})
        backend = pool.submit(_backend_pid).result()
        _terminate_backend(backend)

        found = await saver.aget_tuple(config)

        assert found is not None and found.checkpoint["id"] == checkpoint["id"]
        assert pool.submit(_backend_pid).result() != backend
    finally:
        pool.submit(lambda: connection.close()).result()
        pool.shutdown()


def test_an_operational_error_on_a_live_connection_is_not_retried() -> None:
    calls = []

    def cancelled() -> None:
        calls.append(1)
        with connection.cursor() as cursor:
            cursor.execute("SET statement_timeout = 1")
            cursor.execute("SELECT pg_sleep(1)")

    pool = executor.DatabaseThread()
    try:
        with pytest.raises(OperationalError, match="statement timeout"):
            pool.submit(cancelled).result()
        assert calls == [1]
    finally:
        pool.submit(lambda: connection.close()).result()
        pool.shutdown()
