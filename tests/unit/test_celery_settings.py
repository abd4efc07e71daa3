"""Celery's configuration is Django's CELERY_* settings, read once into a dict."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import LazySettings, settings

from config.celery import app


def test_every_celery_setting_is_what_celery_reads() -> None:
    names = [name for name in dir(settings) if name.startswith("CELERY_")]
    assert "CELERY_WORKER_POOL" in names and "CELERY_BROKER_TRANSPORT_OPTIONS" in names
    for name in names:
        assert app.conf[name.removeprefix("CELERY_").lower()] == getattr(settings, name), name


def test_a_key_left_to_celerys_default_is_read_without_djangos_settings(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert app.conf["task_default_queue"] == "celery"  # configuration loaded
    asked: list[str] = []
    original = LazySettings.__getattr__

    def spy(self: LazySettings, name: str) -> Any:
        asked.append(name)
        return original(self, name)

    monkeypatch.setattr(LazySettings, "__getattr__", spy)
    # Neither is a Django setting: read from django.conf.settings, each would be asked
    # for (and missed) on every read.
    assert app.conf["task_default_queue"] == "celery"
    assert app.conf["task_default_priority"] is None
    assert asked == []
