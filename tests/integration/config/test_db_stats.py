"""The sweeper analyzes run-engine tables that have outgrown their statistics."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from assistants.models import Assistant
from core.db.stats import analyze_grown_tables
from threads.models import Thread

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's planner statistics"),
]


def _changes_since_analyze(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT n_mod_since_analyze FROM pg_stat_user_tables"
            " WHERE schemaname = current_schema() AND relname = %s",
            [table],
        )
        return cursor.fetchone()[0]


def _planner_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


def test_a_table_changed_more_than_it_holds_is_analyzed_and_a_quiet_one_is_not() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE threads_thread, assistants_assistant")
    Thread.objects.bulk_create([Thread() for _ in range(600)])
    Assistant.objects.bulk_create([Assistant(graph_id="echo") for _ in range(10)])
    deadline = time.monotonic() + 10
    while _changes_since_analyze("threads_thread") < 600 and time.monotonic() < deadline:
        time.sleep(0.1)  # statistics reach the shared counters asynchronously

    analyzed = analyze_grown_tables([Thread, Assistant])

    assert analyzed == ["threads_thread"]
    assert _planner_rows("threads_thread") >= 600
    assert _planner_rows("assistants_assistant") < 10  # left to autovacuum


def test_below_the_minimum_nothing_is_analyzed() -> None:
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE threads_thread")
    Thread.objects.bulk_create([Thread() for _ in range(20)])
    _changes_since_analyze("threads_thread")

    assert analyze_grown_tables([Thread]) == []


def test_the_sweep_task_analyzes_the_run_engine_tables() -> None:
    from runs.tasks import sweep_runs

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE threads_thread")
    Thread.objects.bulk_create([Thread() for _ in range(600)])
    deadline = time.monotonic() + 10
    while _changes_since_analyze("threads_thread") < 600 and time.monotonic() < deadline:
        time.sleep(0.1)

    sweep_runs()

    assert _planner_rows("threads_thread") >= 600
