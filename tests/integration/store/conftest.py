"""Fixtures of the store tests: a langgraph.json with a semantic index and TTL defaults."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
from langgraph_sdk.client import LangGraphClient

from store.config import reset_store_settings
from tests.factories import asgi_sdk

ROOT = Path(__file__).resolve().parents[3]


def write_config(tmp_path: Path, store: dict | None) -> Path:
    document = {
        "dependencies": [str(ROOT)],
        "graphs": {"echo": str(ROOT / "examples" / "echo.py") + ":graph"},
    }
    if store is not None:
        document["store"] = store
    path = tmp_path / "langgraph.json"
    path.write_text(json.dumps(document))
    return path


@pytest.fixture
def store_config(settings, tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Point LANGGRAPH_CONFIG at a file with the given `store` section."""

    def use(store: dict | None) -> Path:
        settings.LANGGRAPH_CONFIG = str(write_config(tmp_path, store))
        reset_store_settings()
        return Path(settings.LANGGRAPH_CONFIG)

    use(None)
    yield use
    reset_store_settings()


INDEX = {
    "embed": str(ROOT / "tests" / "e2e" / "embed.py") + ":embed",
    "dims": 12,
    "fields": ["text"],
}


@pytest.fixture
async def sdk() -> AsyncIterator[LangGraphClient]:
    async with asgi_sdk() as client:
        yield client
