"""Fixtures that start a real stack (uvicorn, a Celery worker, the sweeper) for each session."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import redis

from tests.e2e.stack import Stack, drop_database, free_port, fresh_database, stack_env


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL")
    if not url:
        pytest.skip("end-to-end tests need Redis (set REDIS_URL)")
    redis.Redis.from_url(url).flushdb()
    return url


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
