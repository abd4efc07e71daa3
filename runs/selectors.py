"""Reads of runs: lookups by thread, the queue head, and listing."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from access.context import FilterType
from access.filters import caller_q, filter_q
from core.db.sql import db_uuid, from_db_uuid
from core.errors import NotFound
from runs.models import ACTIVE_STATUSES, Run, RunStatus
from runs.statements import NEXT_RUN_OF_THREAD, QUEUE_ORDER
from threads.models import Thread, ThreadStatus
from threads.selectors import json_containment


def run_get(*, thread_id: uuid.UUID, run_id: uuid.UUID) -> Run:
    run = Run.objects.filter(
        caller_q("threads", "thread__metadata"), pk=run_id, thread_id=thread_id
    ).first()
    if run is None:
        raise NotFound()
    return run


def run_list(
    *, thread_id: uuid.UUID, limit: int = 10, offset: int = 0, status: str | None = None
) -> list[Run]:
    runs = Run.objects.filter(caller_q("threads", "thread__metadata"), thread_id=thread_id)
    if status is not None:
        runs = runs.filter(status=status)
    return list(runs.order_by("-created_at", "-run_id")[offset : offset + limit])


def run_to_start(*, thread_id: uuid.UUID) -> uuid.UUID | None:
    """The run that may start on the thread now: its queue head, when nothing runs there."""
    with connection.cursor() as cursor:
        cursor.execute(NEXT_RUN_OF_THREAD, [db_uuid(thread_id)])
        row = cursor.fetchone()
    return from_db_uuid(row[0]) if row and row[0] is not None else None


def run_stream_row(*, run_id: uuid.UUID) -> Mapping[str, Any] | None:
    """What a stream of the run needs: its thread, status and whether it is resumable."""
    return (
        Run.objects.filter(pk=run_id)
        .values("thread_id", "status", resumable=F("kwargs__resumable"))
        .first()
    )


def run_status(*, run_id: uuid.UUID) -> str | None:
    return Run.objects.filter(pk=run_id).values_list("status", flat=True).first()


def thread_in_filter(*, thread_id: uuid.UUID, thread_filter: FilterType | None) -> bool:
    """Whether the thread exists and matches `thread_filter` (an auth handler's filter)."""
    return Thread.objects.filter(filter_q(thread_filter), pk=thread_id).exists()


def thread_runs_to_stream(
    *,
    thread_id: uuid.UUID,
    ended_since: datetime | None = None,
    thread_filter: FilterType | None = None,
) -> list[tuple[uuid.UUID, bool]] | None:
    """(run_id, active) of the thread's pending and running runs, and of its runs that ended
    at or after `ended_since` (None: no ended runs), in creation order. None if the thread
    is gone, or outside `thread_filter` (the auth handlers' filter of the request that
    opened the stream: the stream outlives the request)."""
    if not thread_in_filter(thread_id=thread_id, thread_filter=thread_filter):
        return None
    wanted = Q(status__in=ACTIVE_STATUSES)
    if ended_since is not None:
        wanted |= Q(ended_at__gte=ended_since)
    rows = (
        Run.objects.filter(wanted, thread_id=thread_id)
        .order_by(*QUEUE_ORDER)
        .values_list("pk", "status")
    )
    return [(pk, status in ACTIVE_STATUSES) for pk, status in rows]


def runs_pending_since(*, before: datetime) -> list[Run]:
    """Pending runs due before `before` (at creation, or at their due time with
    after_seconds), oldest first (for the stuck-runs report)."""
    return list(
        Run.objects.alias(due=Coalesce("due_at", "created_at"))
        .filter(status=RunStatus.PENDING, due__lt=before)
        .order_by("created_at")
    )


def runs_running_silent_since(*, before: datetime) -> list[Run]:
    """Running runs whose last heartbeat (or start) is older than `before`: their worker
    may be gone."""
    return list(
        Run.objects.filter(status=RunStatus.RUNNING)
        .filter(Q(heartbeat_at__lt=before) | Q(heartbeat_at__isnull=True, started_at__lt=before))
        .order_by("created_at")
    )


def threads_busy_without_active_run() -> list[uuid.UUID]:
    """Threads marked busy that have no pending or running run: nothing will free them."""
    active = Run.objects.filter(thread_id=OuterRef("pk"), status__in=ACTIVE_STATUSES)
    return list(
        Thread.objects.filter(status=ThreadStatus.BUSY)
        .exclude(Exists(active))
        .order_by("created_at")
        .values_list("pk", flat=True)
    )


def runs_select(
    *,
    older_than: timedelta | None = None,
    statuses: Sequence[str] = (),
    metadata: Mapping[str, Any] | None = None,
    thread_ids: Sequence[uuid.UUID] = (),
) -> QuerySet[Run]:
    """Runs for bulk maintenance (purge_runs): created before now - `older_than`, with one
    of `statuses`, whose metadata contains `metadata`, on `thread_ids`; in id order."""
    runs = Run.objects.all()
    if older_than is not None:
        runs = runs.filter(created_at__lt=timezone.now() - older_than)
    if statuses:
        runs = runs.filter(status__in=list(statuses))
    if thread_ids:
        runs = runs.filter(thread_id__in=list(thread_ids))
    if metadata:
        runs = json_containment(runs, "metadata", metadata)
    return runs.order_by("run_id")
