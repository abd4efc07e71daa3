"""Fixtures of the runs integration tests."""

from __future__ import annotations

import pytest
from django.conf import settings

from runs import streams


@pytest.fixture
def fresh_redis_clients(monkeypatch: pytest.MonkeyPatch) -> None:
    """Skip without Redis; give the test's event loop its own async Redis client (one
    client per loop, and every test has a new loop)."""
    if not settings.REDIS_URL:
        pytest.skip("needs Redis (set REDIS_URL)")
    monkeypatch.setattr(streams, "_async_clients", {})
