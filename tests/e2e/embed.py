"""A deterministic embedding for the store tests: one axis per known word, no network."""

from __future__ import annotations

import re

VOCABULARY = [
    "cat",
    "dog",
    "fish",
    "bird",
    "pizza",
    "pasta",
    "soup",
    "train",
    "plane",
    "boat",
    "rain",
    "sun",
]
DIMS = len(VOCABULARY)


def embed(texts: list[str]) -> list[list[float]]:
    vectors = []
    for text in texts:
        words = re.findall(r"[a-z]+", text.lower())
        vector = [float(sum(1 for w in words if w.rstrip("s") == term)) for term in VOCABULARY]
        # Unknown text still gets a direction, so it ranks last rather than dividing by zero.
        vectors.append(vector if any(vector) else [0.01] * DIMS)
    return vectors
