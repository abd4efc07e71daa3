"""The `store` section of langgraph.json: TTL defaults and the semantic index."""

from __future__ import annotations

import functools
import importlib
import importlib.util
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from langchain_core.embeddings import Embeddings

from config.langgraph_json import langgraph_json_path, langgraph_json_section, reset_langgraph_json


class StoreConfigError(ImproperlyConfigured):
    """The store section of langgraph.json cannot be used."""


@dataclass(frozen=True)
class IndexSpec:
    dims: int
    fields: tuple[str, ...]
    embeddings: Embeddings


@dataclass(frozen=True)
class StoreSettings:
    # langgraph's TTLConfig: refresh_on_read, default_ttl (minutes), sweep_interval_minutes.
    ttl: dict[str, Any] | None
    index: IndexSpec | None


def store_settings() -> StoreSettings:
    """The store settings of the langgraph.json at settings.LANGGRAPH_CONFIG (cached)."""
    return _load(str(langgraph_json_path()))


def reset_store_settings() -> None:
    reset_langgraph_json()
    _load.cache_clear()


@functools.lru_cache(maxsize=8)
def _load(path: str) -> StoreSettings:
    section = langgraph_json_section("store")
    if section is None:
        return StoreSettings(ttl=None, index=None)
    if not isinstance(section, dict):
        raise StoreConfigError(f'{path}: "store" must be an object')
    return StoreSettings(
        ttl=_ttl(section.get("ttl"), path),
        index=_index(section.get("index"), Path(path).parent, path),
    )


def _ttl(value: Any, where: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StoreConfigError(f'{where}: "store.ttl" must be an object')
    default = value.get("default_ttl")
    if default is not None and (
        isinstance(default, bool) or not isinstance(default, int | float) or default <= 0
    ):
        raise StoreConfigError(
            f'{where}: "store.ttl.default_ttl" must be a positive number of minutes'
        )
    refresh = value.get("refresh_on_read", True)
    if not isinstance(refresh, bool):
        raise StoreConfigError(f'{where}: "store.ttl.refresh_on_read" must be true or false')
    return {
        "refresh_on_read": refresh,
        "default_ttl": default,
        "sweep_interval_minutes": value.get("sweep_interval_minutes"),
    }


def _index(value: Any, base: Path, where: str) -> IndexSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise StoreConfigError(f'{where}: "store.index" must be an object')
    dims = value.get("dims")
    if isinstance(dims, bool) or not isinstance(dims, int) or dims < 1:
        raise StoreConfigError(f'{where}: "store.index.dims" must be a positive integer')
    fields = value.get("fields") or ["$"]
    if not isinstance(fields, list) or not all(isinstance(f, str) and f for f in fields):
        raise StoreConfigError(f'{where}: "store.index.fields" must be a list of paths')
    embed = value.get("embed")
    if not isinstance(embed, str) or ":" not in embed:
        raise StoreConfigError(
            f'{where}: "store.index.embed" must be "provider:model" or "./path.py:function"'
        )
    return IndexSpec(dims=dims, fields=tuple(fields), embeddings=_embeddings(embed, base, where))


def _embeddings(embed: str, base: Path, where: str) -> Embeddings:
    from langgraph.store.base.embed import ensure_embeddings

    target, _, attr = embed.rpartition(":")
    if target.endswith(".py") or "/" in target:
        file_path = (base / target).expanduser().resolve()
        if not file_path.is_file():
            raise StoreConfigError(f"{where}: store.index.embed file {file_path} not found")
        name = "spindle_embed_" + re.sub(r"\W", "_", str(file_path))
        module = sys.modules.get(name)
        if module is None:
            spec = importlib.util.spec_from_file_location(name, file_path)
            if spec is None or spec.loader is None:
                raise StoreConfigError(f"{where}: cannot import {file_path}")
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            sys.modules[name] = module
        function = getattr(module, attr, None)
        if function is None:
            raise StoreConfigError(f"{where}: {file_path} has no attribute {attr!r}")
        return ensure_embeddings(function)
    # "provider:model", e.g. "openai:text-embedding-3-small": langchain's init_embeddings
    # (needs `langchain` and the provider's package, and the provider's key).
    try:
        return ensure_embeddings(embed)
    except (ValueError, ImportError) as exc:
        raise StoreConfigError(f"{where}: store.index.embed {embed!r}: {exc}") from exc
