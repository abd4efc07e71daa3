"""The check of response shapes against langgraph_sdk's TypedDicts (tests/sdk_shapes.py)."""

from __future__ import annotations

from langgraph_sdk import schema

from tests.sdk_shapes import shape_errors


def test_a_missing_or_unknown_key_is_caught() -> None:
    run = {
        "run_id": "r",
        "thread_id": "t",
        "assistant_id": "a",
        "created_at": "",
        "updated_at": "",
        "status": "pending",
        "metadata": {},
        "multitask_strategy": "enqueue",
    }
    assert shape_errors(run, schema.Run) == []
    assert shape_errors({**run, "cancel_reason": None}, schema.Run) == []  # NotRequired
    without = {key: value for key, value in run.items() if key != "status"}
    assert shape_errors({**without, "bogus": 1}, schema.Run) == [
        "Run lacks 'status'",
        "Run has unknown 'bogus'",
    ]
    assert shape_errors({**run, "kwargs": {}}, schema.Run) == []  # the official server sends it too
