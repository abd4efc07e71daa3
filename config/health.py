"""/ok: the web process answers, and so do the database and (when configured) Redis."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import redis.asyncio as aioredis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from core.db.asyncdb import db

logger = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 3.0
_redis_clients: dict[int, aioredis.Redis] = {}


def _database_ping() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis_client() -> aioredis.Redis:
    # One client per event loop: a redis.asyncio pool must not cross loops.
    loop_id = id(asyncio.get_running_loop())
    client = _redis_clients.get(loop_id)
    if client is None:
        client = aioredis.Redis.from_url(
            str(settings.REDIS_URL), socket_connect_timeout=2, socket_timeout=CHECK_TIMEOUT_SECONDS
        )
        _redis_clients[loop_id] = client
    return client


async def _check(name: str, probe: Callable[[], Awaitable[object]]) -> str | None:
    """None when the service answered, else why not."""
    try:
        await asyncio.wait_for(probe(), CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"did not answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # any failure of the probe means the service is down
        logger.warning("Health check: %s is down: %s", name, exc)
        return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return None


async def ok(request: HttpRequest) -> JsonResponse:
    """200 {"ok": true, "services": {...: "ok"}}; 503 naming each service that is down."""
    database = "postgres" if connection.vendor == "postgresql" else connection.vendor
    probes: dict[str, Callable[[], Awaitable[object]]] = {database: lambda: db(_database_ping)}
    if settings.REDIS_URL:
        probes["redis"] = lambda: _redis_client().ping()
    # One after the other: both would otherwise need an executor thread at the same time.
    failures = [await _check(name, probe) for name, probe in probes.items()]
    services = {
        name: "ok" if why is None else "down" for name, why in zip(probes, failures, strict=True)
    }
    down = [f"{name} is down ({why})" for name, why in zip(probes, failures, strict=True) if why]
    if down:
        return JsonResponse(
            {"ok": False, "detail": "; ".join(down), "services": services}, status=503
        )
    return JsonResponse({"ok": True, "services": services})
