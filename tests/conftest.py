"""Shared fixtures: the real database comes from DATABASE_URL (see the Makefile)."""

from __future__ import annotations

from collections.abc import Callable

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
            for model in (Assistant, AssistantVersion, Thread, Run, Checkpoint, CheckpointBlob, CheckpointWrite)
        }

    return counts
