"""Embeddings of store items: the texts a put indexes, packing, and cosine similarity."""

from __future__ import annotations

import math
from array import array
from collections.abc import Mapping, Sequence
from typing import Any

from langgraph.store.base.embed import get_text_at_path, tokenize_path

from store.config import IndexSpec


def texts_to_embed(value: Mapping[str, Any], fields: Sequence[str]) -> list[tuple[str, str]]:
    """(field_path, text) pairs of a value for the given paths; a path that selects
    several texts yields one entry per text."""
    pairs: list[tuple[str, str]] = []
    for path in fields:
        texts = get_text_at_path(value, path if path == "$" else tokenize_path(path))
        if len(texts) == 1:
            pairs.append((path, texts[0]))
        else:
            pairs.extend((f"{path}.{i}", text) for i, text in enumerate(texts))
    return pairs


def check_dims(index: IndexSpec, vectors: Sequence[Sequence[float]]) -> None:
    for vector in vectors:
        if len(vector) != index.dims:
            raise ValueError(
                f"The embedding function returned {len(vector)} dimensions; store.index.dims is {index.dims}"
            )


def pack(vector: Sequence[float]) -> bytes:
    return array("f", vector).tobytes()


def unpack(data: bytes | memoryview) -> array:
    values = array("f")
    values.frombytes(bytes(data))
    return values


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0
