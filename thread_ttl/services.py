"""Thread TTLs: parse and set a thread's TTL (POST/PATCH /threads, or langgraph.json's
checkpointer.ttl.default_ttl), and the sweep that deletes expired idle threads through
thread_delete, the service behind DELETE /threads/{id}."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.langgraph_json import langgraph_json_section
from core.errors import InvalidInput, NotFound
from runs.models import ACTIVE_STATUSES, Run
from runs.services import thread_delete, thread_prune
from thread_ttl.models import ThreadTTL, TTLStrategy
from threads.locks import lock_thread

logger = logging.getLogger(__name__)

SWEEP_BATCH = 100


@dataclass(frozen=True)
class TTL:
    strategy: str
    minutes: float


def _parse(value: Any, where: str) -> TTL:
    # An object, as officially (the SDK turns a number into {"ttl": n, "strategy": "delete"}).
    if not isinstance(value, dict):
        raise InvalidInput(f"{where}: must be an object with ttl (minutes) and strategy")
    minutes = value.get("ttl")
    if isinstance(minutes, bool) or not isinstance(minutes, int | float) or minutes <= 0:
        raise InvalidInput(f"{where}.ttl: must be a positive number of minutes")
    strategy = value.get("strategy") or TTLStrategy.DELETE
    if strategy not in TTLStrategy.values:
        raise InvalidInput(f"{where}.strategy: must be one of {', '.join(TTLStrategy.values)}")
    return TTL(strategy=strategy, minutes=float(minutes))


def thread_ttl_parse(value: Any) -> TTL | None:
    """The TTL of a thread create or update body (None: not given); InvalidInput (422)."""
    return None if value is None else _parse(value, "ttl")


def default_thread_ttl() -> TTL | None:
    """langgraph.json's checkpointer.ttl (default_ttl minutes, strategy), or None."""
    section = langgraph_json_section("checkpointer")
    ttl = section.get("ttl") if isinstance(section, dict) else None
    if not isinstance(ttl, dict) or ttl.get("default_ttl") is None:
        return None
    return _parse({"ttl": ttl["default_ttl"], "strategy": ttl.get("strategy")}, "checkpointer.ttl")


def thread_ttl_set(*, thread_id: uuid.UUID, ttl: TTL | None) -> None:
    """Expire the thread `ttl.minutes` from now (replacing any earlier TTL)."""
    if ttl is None:
        return
    ThreadTTL.objects.update_or_create(
        thread_id=thread_id,
        defaults={
            "strategy": ttl.strategy,
            "ttl_minutes": ttl.minutes,
            "expires_at": timezone.now() + timedelta(minutes=ttl.minutes),
        },
    )


def threads_sweep_expired(*, batch_size: int = SWEEP_BATCH) -> dict[str, int]:
    """Delete (or, with keep_latest, prune) threads whose TTL has passed, a batch at a
    time. A thread with a pending or running run is never touched: it is looked at
    again on the next sweep."""
    done = {"deleted": 0, "pruned": 0, "busy": 0}
    busy: set[uuid.UUID] = set()
    while True:
        due = list(
            ThreadTTL.objects.filter(expires_at__lte=timezone.now())
            .exclude(thread_id__in=busy)
            .order_by("expires_at")
            .values_list("thread_id", "strategy", "ttl_minutes")[:batch_size]
        )
        if not due:
            return done
        for thread_id, strategy, minutes in due:
            outcome = _expire(thread_id, strategy, minutes)
            if outcome == "busy":
                busy.add(thread_id)
            done[outcome] += 1


def _expire(thread_id: uuid.UUID, strategy: str, minutes: float) -> str:
    with transaction.atomic():
        try:
            # Holding the thread's lock, no run can be created on it until we are done.
            lock_thread(thread_id)
        except NotFound:
            ThreadTTL.objects.filter(thread_id=thread_id).delete()
            return "deleted"
        if Run.objects.filter(thread_id=thread_id, status__in=ACTIVE_STATUSES).exists():
            return "busy"
        if strategy == TTLStrategy.KEEP_LATEST:
            thread_prune(thread_ids=[thread_id], strategy="keep_latest")
            ThreadTTL.objects.filter(thread_id=thread_id).update(
                expires_at=timezone.now() + timedelta(minutes=minutes)
            )
            logger.info("Thread %s: TTL passed; pruned to its latest checkpoint", thread_id)
            return "pruned"
        thread_delete(thread_id=thread_id)
        logger.info("Thread %s: TTL passed; deleted with its runs and checkpoints", thread_id)
        return "deleted"
