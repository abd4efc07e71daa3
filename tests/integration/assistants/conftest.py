"""Fixtures of the assistants tests: the repo's langgraph.json, an API client, row counts."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assistants.graphs import reset_registry
from assistants.models import Assistant, AssistantVersion

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def repo_graphs(settings: Any) -> Iterator[None]:
    settings.LANGGRAPH_CONFIG = str(REPO_ROOT / "langgraph.json")
    yield
    reset_registry()


@pytest.fixture
def row_counts() -> Callable[[], tuple[int, int]]:
    """(assistants, versions) now, to check that a failed request wrote nothing."""
    return lambda: (Assistant.objects.count(), AssistantVersion.objects.count())
