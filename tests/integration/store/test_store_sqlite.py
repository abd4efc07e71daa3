"""The store on SQLite (the embedded default): semantic search by exact scan, TTLs, and
the BaseStore's sync and async batches, in a process of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.integration.store.conftest import INDEX, ROOT, write_config

SCRIPT = r"""
import asyncio, json, time
import django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
from store.backend import DjangoStore
from store.services import items_sweep_expired

store = DjangoStore()
store.put(("kb",), "travel", {"text": "a train and a plane"})
store.put(("kb",), "weather", {"text": "rain rain and sun"})
store.put(("kb",), "boats", {"text": "boat boat train"})
store.put(("kb",), "brief", {"text": "boat"}, ttl=0.001)
time.sleep(0.2)

async def main():
    await store.aput(("kb", "deep"), "fish", {"text": "fish"})
    ranked = await store.asearch(("kb",), query="boat train")
    return [(i.key, i.score) for i in ranked]

out = {
    "ranked": asyncio.run(main()),
    "sync_ranked": [i.key for i in store.search(("kb",), query="rain", limit=2)],
    "brief": store.get(("kb",), "brief"),
    "namespaces": store.list_namespaces(),
    "swept": items_sweep_expired(),
}
print(json.dumps(out))
"""


def test_semantic_search_ranks_the_nearest_item_first_on_sqlite(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"index": INDEX})
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'store.sqlite3'}",
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
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    keys = [key for key, _ in out["ranked"]]
    # Equal scores: the newer item first.
    assert keys == ["boats", "travel", "fish", "weather"]
    scores = [score for _, score in out["ranked"]]
    assert scores[0] > scores[1] > scores[2] and scores[2] == scores[3] == 0.0
    assert out["sync_ranked"] == ["weather", "fish"]
    assert out["brief"] is None
    assert out["namespaces"] == [["kb"], ["kb", "deep"]]
    assert out["swept"] == 1
