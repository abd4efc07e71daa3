"""Sections of langgraph.json beyond the graphs (store, checkpointer), read once per file."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

from django.conf import settings


def langgraph_json_path() -> Path:
    # Read for every run (the store's settings): resolving walks the file system.
    return _resolved(str(settings.LANGGRAPH_CONFIG))


@functools.lru_cache(maxsize=8)
def _resolved(path: str) -> Path:
    return Path(path).expanduser().resolve()


def langgraph_json_section(name: str) -> Any:
    """The top-level `name` entry of the langgraph.json at settings.LANGGRAPH_CONFIG, or
    None. A missing or unreadable file is None here: the graph registry reports it."""
    return _document(str(langgraph_json_path())).get(name)


def reset_langgraph_json() -> None:
    _resolved.cache_clear()
    _document.cache_clear()


@functools.lru_cache(maxsize=8)
def _document(path: str) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}
