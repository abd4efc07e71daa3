"""Fixtures of the threads API tests: a DRF client and row counts of every thread table."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from runs.models import Run
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread


@pytest.fixture
def api() -> APIClient:
    return APIClient()


@pytest.fixture
def row_counts() -> Callable[[], dict[str, int]]:
    """Rows per table, to assert that a failed request wrote nothing."""

    def counts() -> dict[str, int]:
        return {
            model.__name__: model.objects.count()
            for model in (Thread, Run, Checkpoint, CheckpointBlob, CheckpointWrite)
        }

    return counts


@pytest.fixture(autouse=True)
def example_graphs(settings: Any) -> None:
    """The repository's langgraph.json (agent, echo, interruptible), wherever pytest runs from."""
    settings.LANGGRAPH_CONFIG = str(Path(django_settings.BASE_DIR) / "langgraph.json")
