"""The full langgraph-checkpoint-conformance suite against DjangoSaver, on SQLite and PostgreSQL.

Each run is a subprocess (conformance_runner) on a fresh database of its own, so the
suite's rows never meet the test database and Django settings are read from scratch.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from tests.integration.checkpointer.conformance_runner import RESULT_PREFIX

REPO_ROOT = Path(__file__).resolve().parents[3]
CAPABILITIES = {
    "put",
    "put_writes",
    "get_tuple",
    "list",
    "delete_thread",
    "delete_for_runs",
    "copy_thread",
    "prune",
}


def _run_conformance(database_url: str) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    proc = subprocess.run(
        [sys.executable, "-m", "tests.integration.checkpointer.conformance_runner"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    assert lines, (
        f"runner printed no result (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    )
    result = json.loads(lines[-1][len(RESULT_PREFIX) :])
    print(f"\n{result['vendor']}: conformance level {result['conformance_level']}")
    for name, cap in sorted(result["results"].items()):
        print(
            f"  {name:16s} detected={cap['detected']} passed={cap['passed']} "
            f"tests_passed={cap['tests_passed']} tests_failed={cap['tests_failed']} "
            f"skipped={cap['tests_skipped']}"
        )
    assert set(result["results"]) == CAPABILITIES
    for name, cap in result["results"].items():
        assert cap["detected"] is True, name
        assert cap["passed"] is True, (name, cap["failures"])
        assert cap["tests_failed"] == 0, (name, cap["failures"])
        assert cap["tests_passed"] > 0, name
    assert result["conformance_level"] == "FULL"
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    return result


@pytest.fixture
def fresh_postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database on the server of the session's DATABASE_URL."""
    psycopg = pytest.importorskip("psycopg")
    import dj_database_url

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://", "pgsql://")):
        pytest.skip("DATABASE_URL is not a PostgreSQL URL")
    server = dj_database_url.parse(url)
    name = f"spindle_conformance_{uuid.uuid4().hex[:12]}"
    admin = {
        "host": server["HOST"] or "127.0.0.1",
        "port": server["PORT"] or 5432,
        "user": server["USER"],
        "password": server["PASSWORD"],
        "dbname": "postgres",
        "autocommit": True,
    }
    with psycopg.connect(**admin) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    user = f"{quote(server['USER'])}:{quote(server['PASSWORD'] or '')}@" if server["USER"] else ""
    try:
        yield f"postgres://{user}{admin['host']}:{admin['port']}/{name}"
    finally:
        with psycopg.connect(**admin) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_django_saver_passes_conformance_on_sqlite(tmp_path: Path) -> None:
    _run_conformance(f"sqlite:///{tmp_path / 'conformance.sqlite3'}")


def test_django_saver_passes_conformance_on_postgresql(fresh_postgres_url: str) -> None:
    _run_conformance(fresh_postgres_url)
