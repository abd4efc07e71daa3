"""Schemathesis hooks for tests/e2e/schemathesis_run.py (loaded through SCHEMATHESIS_HOOKS).

A run created with `after_seconds` starts that late, and a wait or a stream on it answers once
it has run: a generated delay of days is a request that hangs by design, not a fault. Bodies of
operations that answer at the run's end get a delay of at most MAX_DELAY seconds."""

from __future__ import annotations

from typing import Any

import schemathesis

MAX_DELAY = 1.0


@schemathesis.hook
def map_body(context: Any, body: Any) -> Any:
    operation = context.operation
    path = operation.path if operation is not None else ""
    if not path.endswith(("/wait", "/stream")) or not isinstance(body, dict):
        return body
    delay = body.get("after_seconds")
    if isinstance(delay, int | float) and not isinstance(delay, bool) and delay > MAX_DELAY:
        return {**body, "after_seconds": MAX_DELAY}
    return body
