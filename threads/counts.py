"""What a delete took away, counted per kind of row: runs, checkpoints, pending writes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict


class DeletedCounts(TypedDict):
    runs: int
    checkpoints: int
    writes: int


def deleted_counts(*per_model: Mapping[str, int]) -> DeletedCounts:
    """Add up Django's `delete()` counts (keyed "app.Model") into runs/checkpoints/writes."""
    total = DeletedCounts(runs=0, checkpoints=0, writes=0)
    for counts in per_model:
        total["runs"] += counts.get("runs.Run", 0)
        total["checkpoints"] += counts.get("threads.Checkpoint", 0)
        total["writes"] += counts.get("threads.CheckpointWrite", 0)
    return total


def add_counts(a: DeletedCounts, b: DeletedCounts) -> DeletedCounts:
    return DeletedCounts(
        runs=a["runs"] + b["runs"],
        checkpoints=a["checkpoints"] + b["checkpoints"],
        writes=a["writes"] + b["writes"],
    )


def describe_counts(counts: DeletedCounts) -> str:
    """'2 runs, 14 checkpoints and 3 pending writes', for messages and command output."""

    def n(count: int, word: str) -> str:
        return f"{count} {word}{'' if count == 1 else 's'}"

    return (
        f"{n(counts['runs'], 'run')}, {n(counts['checkpoints'], 'checkpoint')}"
        f" and {n(counts['writes'], 'pending write')}"
    )
