"""One timestamp for a row just created, as the official server gives a new thread or assistant."""

from __future__ import annotations

from typing import Any


def created_as_updated(instance: Any, *fields: str) -> None:
    """Give a row just created the same time in `fields` as in created_at, as the official
    server does for a new thread or assistant (auto_now and auto_now_add each read the
    clock on their own)."""
    type(instance).objects.filter(pk=instance.pk).update(**{f: instance.created_at for f in fields})
    for name in fields:
        setattr(instance, name, instance.created_at)
