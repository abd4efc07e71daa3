"""Reads of runs: lookups by thread, the queue head, and listing."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from config.errors import NotFound
from runs.models import ACTIVE_STATUSES, Run, RunStatus


def run_get(*, thread_id: uuid.UUID, run_id: uuid.UUID) -> Run:
    run = Run.objects.filter(pk=run_id, thread_id=thread_id).first()
    if run is None:
        raise NotFound()
    return run


def run_list(
    *, thread_id: uuid.UUID, limit: int = 10, offset: int = 0, status: str | None = None
) -> list[Run]:
    runs = Run.objects.filter(thread_id=thread_id)
    if status is not None:
        runs = runs.filter(status=status)
    return list(runs.order_by("-created_at", "-run_id")[offset : offset + limit])


def runs_active(*, thread_id: uuid.UUID) -> QuerySet[Run]:
    """The thread's pending and running runs, oldest first (the enqueue order)."""
    return Run.objects.filter(thread_id=thread_id, status__in=ACTIVE_STATUSES).order_by(
        "created_at", "run_id"
    )


def run_queue_head(*, thread_id: uuid.UUID) -> Run | None:
    return (
        Run.objects.filter(thread_id=thread_id, status=RunStatus.PENDING)
        .order_by("created_at", "run_id")
        .first()
    )


def run_is_final(run: Run | None) -> bool:
    return run is None or run.status not in ACTIVE_STATUSES
