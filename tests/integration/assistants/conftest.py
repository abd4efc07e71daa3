"""Fixtures of the assistants tests: the repo's langgraph.json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistants.graphs import reset_registry

REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def repo_graphs(settings: Any) -> Iterator[None]:
    settings.LANGGRAPH_CONFIG = str(REPO_ROOT / "langgraph.json")
    yield
    reset_registry()
