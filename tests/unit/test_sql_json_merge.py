"""json_merge() means `{**a, **b}` on SQLite too: a shallow merge, later objects winning."""

from __future__ import annotations

import json
import sqlite3
from types import SimpleNamespace

from core.db.sql import register_sqlite_functions


def test_the_sqlite_json_merge_is_shallow_and_later_objects_win() -> None:
    db = sqlite3.connect(":memory:")
    register_sqlite_functions(None, SimpleNamespace(vendor="sqlite", connection=db))
    merged = db.execute(
        "SELECT spindle_json_merge(?, ?, ?)",
        ['{"a": {"x": 1}, "b": 1}', '{"a": {"y": 2}, "d": true}', '{"c": null, "b": 2}'],
    ).fetchone()[0]
    assert json.loads(merged) == {"a": {"y": 2}, "b": 2, "c": None, "d": True}
    assert json.loads(db.execute("SELECT spindle_json_merge(NULL, '{}')").fetchone()[0]) == {}
