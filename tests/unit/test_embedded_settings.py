"""The embedded mode's settings: SQLite for several writers, Celery on a Redis Unix socket."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from config.env import broker_url, env_database


@pytest.mark.parametrize(
    ("redis_url", "broker"),
    [
        ("redis://127.0.0.1:6379/4", "redis://127.0.0.1:6379/4"),
        (
            "unix:///tmp/spindle-x/redis.sock?db=0",
            "redis+socket:///tmp/spindle-x/redis.sock?virtual_host=0",
        ),
        ("unix:///run/redis.sock?db=3", "redis+socket:///run/redis.sock?virtual_host=3"),
        ("unix:///run/redis.sock", "redis+socket:///run/redis.sock?virtual_host=0"),
    ],
)
def test_celery_reaches_redis_on_a_unix_socket(redis_url: str, broker: str) -> None:
    assert broker_url(redis_url) == broker


@pytest.mark.parametrize("url", [None, "sqlite:///{path}"])
def test_sqlite_opens_in_wal_mode_with_a_busy_timeout(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str | None
) -> None:
    path = tmp_path / "db.sqlite3"
    if url is None:
        monkeypatch.delenv("DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("DATABASE_URL", url.format(path=path))
    config = env_database("DATABASE_URL", str(path))
    options = config["OPTIONS"]
    assert options["transaction_mode"] == "IMMEDIATE"
    assert options["timeout"] >= 10
    # What Django runs on each new connection, run on a real file.
    with sqlite3.connect(config["NAME"], timeout=options["timeout"]) as db:
        for command in options["init_command"].split(";"):
            db.execute(command)
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("PRAGMA synchronous").fetchone() == (1,)  # NORMAL
