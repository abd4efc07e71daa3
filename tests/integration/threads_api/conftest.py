"""Fixtures of the threads API integration tests: the repository's example graphs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings


@pytest.fixture(autouse=True)
def example_graphs(settings: Any) -> None:
    """The repository's langgraph.json (agent, echo, interruptible), wherever pytest runs from."""
    settings.LANGGRAPH_CONFIG = str(Path(django_settings.BASE_DIR) / "langgraph.json")
