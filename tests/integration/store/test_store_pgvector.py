"""The store's pgvector path, on a PostgreSQL that has the extension (pgserver's, from
PyPI): vectors in the HNSW-indexed table, the nearest item first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import psycopg
import pytest

from tests.integration.store.conftest import INDEX, ROOT, write_config
from tests.integration.store.test_store_sqlite import SCRIPT

pgserver = pytest.importorskip("pgserver")


@pytest.fixture(scope="module")
def pgvector_url() -> Iterator[str]:
    data = tempfile.mkdtemp(prefix="spindle-pgvector-")
    server = pgserver.get_server(data, cleanup_mode="delete")
    try:
        socket_dir = server.get_uri().split("host=", 1)[1]
        yield f"postgres://postgres@{quote(socket_dir, safe='')}/postgres"
    finally:
        server.cleanup()


def test_semantic_search_uses_pgvector_where_the_extension_exists(
    tmp_path: Path, pgvector_url: str
) -> None:
    config = write_config(tmp_path, {"index": INDEX})
    env = {
        **os.environ,
        "DATABASE_URL": pgvector_url,
        "LANGGRAPH_CONFIG": str(config),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
    }
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    # The same answers as the exact scan gives on SQLite.
    assert [key for key, _ in out["ranked"]] == ["boats", "travel", "fish", "weather"]
    scores = [score for _, score in out["ranked"]]
    assert scores[0] > scores[1] > scores[2]
    assert out["sync_ranked"][0] == "weather"
    assert out["brief"] is None and out["swept"] == 1

    socket_dir = pgvector_url.split("@", 1)[1].split("/", 1)[0]
    with psycopg.connect(
        host=socket_dir.replace("%2F", "/"), user="postgres", dbname="postgres"
    ) as conn:
        # Every embedded field went to the vector table, none to the fallback's.
        assert conn.execute("SELECT count(*) FROM store_itemvector_12").fetchone() == (4,)
        assert conn.execute("SELECT count(*) FROM store_storevector").fetchone() == (0,)
        indexes = conn.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'store_itemvector_12'"
        ).fetchall()
        assert any("hnsw" in row[0] and "vector_cosine_ops" in row[0] for row in indexes)
