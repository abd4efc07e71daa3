"""The worker keeps its database connection from run to run without pinging it first: a
claim that meets a dead connection (the database restarted) is retried on a new one."""

from __future__ import annotations

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from assistants.graphs import default_assistant_id
from assistants.models import Assistant
from assistants.services import assistant_ensure_defaults
from runs import executor, services
from runs.models import RunStatus
from threads.models import Thread

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="kills a PostgreSQL backend"),
]


def test_a_claim_on_a_connection_the_database_dropped_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(services, "_dispatch", lambda run_id, countdown=None: None)
    assistant_ensure_defaults()
    run = services.run_create(
        thread_id=Thread.objects.create().pk,
        assistant=Assistant.objects.get(pk=default_assistant_id("echo")),
        payload={"input": {}},
    )
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    params = settings.DATABASES["default"]
    with psycopg.connect(
        host=params["HOST"], port=params["PORT"] or 5432, user=params["USER"], password=params["PASSWORD"],
        dbname=connection.settings_dict["NAME"], autocommit=True,
    ) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", [backend])

    claimed = executor._claim(run.pk)

    assert claimed is not None and claimed.status == RunStatus.RUNNING
    assert connection.connection.info.backend_pid != backend
