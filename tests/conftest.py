"""Shared fixtures: the real database comes from DATABASE_URL (see the Makefile)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from rest_framework.test import APIClient


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def row_counts() -> Callable[[], dict[str, int]]:
    """Rows per model (assistants, threads, runs, checkpoints), to assert that a failed
    request wrote nothing."""
    from assistants.models import Assistant, AssistantVersion
    from runs.models import Run
    from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread

    def counts() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (
                Assistant,
                AssistantVersion,
                Thread,
                Run,
                Checkpoint,
                CheckpointBlob,
                CheckpointWrite,
            )
        }

    return counts


@dataclass
class Dispatched:
    """What the engine sent through runs/dispatch.py while the `dispatched` fixture held it.

    `fail` (an exception), when set, is raised by every call instead, as the real seam's
    calls raise with Redis down."""

    enqueued: list[uuid.UUID] = field(default_factory=list)
    countdowns: list[tuple[uuid.UUID, float | None]] = field(default_factory=list)
    revoked: list[uuid.UUID] = field(default_factory=list)
    cancels: list[tuple[uuid.UUID, str]] = field(default_factory=list)
    ends: list[tuple[uuid.UUID, dict[str, Any]]] = field(default_factory=list)
    fail: Exception | None = None

    def _check(self) -> None:
        if self.fail is not None:
            raise self.fail

    def enqueue(self, run_id: uuid.UUID, countdown: float | None = None) -> None:
        self.enqueued.append(run_id)
        self.countdowns.append((run_id, countdown))
        self._check()

    def revoke(self, run_id: uuid.UUID) -> None:
        self._check()
        self.revoked.append(run_id)

    def send_cancel(self, run_id: uuid.UUID, action: str) -> None:
        self._check()
        self.cancels.append((run_id, action))

    def publish_end(self, run_id: uuid.UUID, outcome: dict[str, Any]) -> None:
        self._check()
        self.ends.append((run_id, outcome))


@pytest.fixture
def dispatched(monkeypatch: pytest.MonkeyPatch) -> Dispatched:
    """Replace the engine's dispatch seam (no Celery, no Redis) and record what it was sent."""
    from runs import dispatch

    fake = Dispatched()
    for name in ("enqueue", "revoke", "send_cancel", "publish_end"):
        monkeypatch.setattr(dispatch, name, getattr(fake, name))
    return fake
