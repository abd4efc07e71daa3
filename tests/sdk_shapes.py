"""The response shapes langgraph_sdk declares (its TypedDicts), to check our answers against."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

from langgraph_sdk import schema

# Where the official server departs from the SDK's TypedDicts ("JSON shapes" and
# "update_state" in shared/reference/official-behaviour.md); Spindle answers as it does.
# Keys it sends that the SDK does not declare:
OFFICIAL_EXTRAS: dict[type, frozenset[str]] = {
    schema.Thread: frozenset({"config", "error", "state_updated_at"}),
    schema.ThreadState: frozenset({"checkpoint_id", "parent_checkpoint_id"}),
    schema.ThreadTask: frozenset({"path"}),
    schema.ThreadUpdateStateResponse: frozenset({"configurable", "checkpoint_id"}),
    schema.Run: frozenset({"kwargs", "langsmith_session_name"}),
}
# Keys the SDK declares that it may leave out: a thread's interrupts until its state is
# first written; a checkpoint's checkpoint_map.
OFFICIAL_OMITS: dict[type, frozenset[str]] = {
    schema.Thread: frozenset({"interrupts"}),
    schema.Checkpoint: frozenset({"checkpoint_map"}),
}


def declared_keys(shape: type) -> tuple[set[str], set[str]]:
    """(required, optional) keys of an SDK TypedDict. The SDK's module postpones its
    annotations, so NotRequired[...] is read from the resolved hints."""
    hints = typing.get_type_hints(shape, include_extras=True)
    optional = set(getattr(shape, "__optional_keys__", ())) | {
        key for key, hint in hints.items() if typing.get_origin(hint) is typing.NotRequired
    }
    return set(hints) - optional, optional


def shape_errors(body: Mapping[str, Any], shape: type) -> list[str]:
    """What `body` lacks of the SDK's `shape`, and what it has that neither the SDK nor the
    official server knows."""
    required, optional = declared_keys(shape)
    keys = set(body)
    allowed = required | optional | OFFICIAL_EXTRAS.get(shape, frozenset())
    required -= OFFICIAL_OMITS.get(shape, frozenset())
    errors = [f"{shape.__name__} lacks {key!r}" for key in sorted(required - keys)]
    errors += [f"{shape.__name__} has unknown {key!r}" for key in sorted(keys - allowed)]
    return errors
