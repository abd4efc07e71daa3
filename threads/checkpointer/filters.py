"""Checkpoint metadata: the list filter's two halves (SQL key lookups and PostgreSQL `@>`
semantics in Python for the rest) and what may be stored."""

from __future__ import annotations

import json
from typing import Any

# A metadata key a checkpoint lacks (None is a value).
MISSING = object()


def json_contains(actual: Any, expected: Any) -> bool:
    """PostgreSQL `@>` semantics, for metadata filters that cannot be a key lookup."""
    if isinstance(expected, dict):
        return isinstance(actual, dict) and all(
            key in actual and json_contains(actual[key], value) for key, value in expected.items()
        )
    if isinstance(expected, list):
        return isinstance(actual, list) and all(
            any(json_contains(item, wanted) for item in actual) for wanted in expected
        )
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and actual == expected
    return actual == expected


def sql_filterable(key: str, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return False
    try:
        int(key)
    except ValueError:
        return True
    # Django turns an integer-like key into an array index.
    return False


def is_json(value: Any) -> bool:
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        return False
    return True
