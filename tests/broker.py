"""The messages integration tests leave in the real broker's default queue (the Redis of
REDIS_URL): found by task, and removed so no later test or worker takes them."""

from __future__ import annotations

import base64
import json

import redis
from django.conf import settings

QUEUE = "celery"


def queued(task: str) -> list[tuple[bytes, str]]:
    """(raw message, first argument) of `task`'s messages waiting in the default queue."""
    found = []
    for raw in redis.Redis.from_url(settings.REDIS_URL).lrange(QUEUE, 0, -1):
        message = json.loads(raw)
        if message["headers"].get("task") == task:
            args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
            found.append((raw, args[0]))
    return found


def remove_queued(*tasks: str) -> None:
    """Take every waiting message of these tasks out of the default queue."""
    broker = redis.Redis.from_url(settings.REDIS_URL)
    for task in tasks:
        for raw, _argument in queued(task):
            broker.lrem(QUEUE, 0, raw)
