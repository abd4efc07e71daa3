"""Fixtures that start a real stack (uvicorn, a Celery worker, the sweeper) for each session."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator

import pytest

from tests.e2e.stack import RedisServer, Stack, drop_database, free_port, fresh_database, stack_env


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory) -> Iterator[str]:
    """A private redis-server for the session's stack: the shared Redis (REDIS_URL) is never
    flushed or consumed from by end-to-end tests, so suites can run side by side."""
    if not shutil.which("redis-server"):
        pytest.skip("end-to-end tests need redis-server")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server.url
    server.stop()


@pytest.fixture(scope="session")
def stack(redis_url: str, tmp_path_factory) -> Iterator[Stack]:
    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip("end-to-end tests need PostgreSQL (set DATABASE_URL)")
    db_url = fresh_database(f"spindle_e2e_{os.getpid()}")
    s = Stack(
        url=f"http://127.0.0.1:{free_port()}",
        db_url=db_url,
        env=stack_env(redis_url=redis_url, db_url=db_url),
        log_dir=tmp_path_factory.mktemp("stack"),
    )
    try:
        s.start_web()
        s.start_worker(beat=True)  # crons and the TTL sweeps need beat
        s.start_sweeper()
        yield s
    except Exception:
        print(s.logs())
        raise
    finally:
        s.stop()
        drop_database(db_url)


@pytest.fixture
def client(stack: Stack):
    from langgraph_sdk import get_client

    return get_client(url=stack.url, timeout=60)
