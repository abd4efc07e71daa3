"""Reads of crons: one, a search, a count, and when each fires next."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from access.filters import caller_q
from assistants.selectors import filter_metadata
from core.errors import NotFound
from crons.models import Cron

SORTABLE = {
    "cron_id": "cron_id",
    "assistant_id": "assistant_id",
    "thread_id": "thread_id",
    "end_time": "periodic_task__expires",
    "created_at": "created_at",
    "updated_at": "updated_at",
}


def _crons() -> QuerySet[Cron]:
    """The crons the request's caller may see (all of them outside a request)."""
    return Cron.objects.filter(caller_q("crons")).select_related(
        "periodic_task", "periodic_task__crontab"
    )


def cron_get(cron_id: uuid.UUID) -> Cron:
    cron = _crons().filter(pk=cron_id).first()
    if cron is None:
        raise NotFound()
    return cron


def _filtered(
    *,
    assistant_id: uuid.UUID | None,
    thread_id: uuid.UUID | None,
    metadata: dict[str, Any] | None,
    enabled: bool | None = None,
) -> QuerySet[Cron]:
    queryset = _crons()
    if assistant_id is not None:
        queryset = queryset.filter(assistant_id=assistant_id)
    if thread_id is not None:
        queryset = queryset.filter(thread_id=thread_id)
    if enabled is not None:
        queryset = queryset.filter(periodic_task__enabled=enabled)
    if metadata:
        queryset = filter_metadata(queryset, metadata)
    return queryset


def cron_search(
    *,
    assistant_id: uuid.UUID | None = None,
    thread_id: uuid.UUID | None = None,
    enabled: bool | None = None,
    metadata: dict[str, Any] | None = None,
    limit: int = 10,
    offset: int = 0,
    sort_by: str = "created_at",
    sort_order: str = "desc",
) -> tuple[list[Cron], int]:
    """A page of crons and the total that match."""
    queryset = _filtered(
        assistant_id=assistant_id, thread_id=thread_id, metadata=metadata, enabled=enabled
    )
    total = queryset.count()
    if sort_by == "next_run_date":
        rows = list(queryset)
        far = datetime.max.replace(tzinfo=timezone.get_current_timezone())
        rows.sort(key=lambda cron: next_run_date(cron) or far, reverse=sort_order == "desc")
        return rows[offset : offset + limit], total
    field = SORTABLE[sort_by]
    order = f"-{field}" if sort_order == "desc" else field
    return list(
        queryset.order_by(order, "-cron_id" if sort_order == "desc" else "cron_id")[
            offset : offset + limit
        ]
    ), total


def cron_count(
    *,
    assistant_id: uuid.UUID | None = None,
    thread_id: uuid.UUID | None = None,
    metadata: dict[str, Any] | None = None,
) -> int:
    return _filtered(assistant_id=assistant_id, thread_id=thread_id, metadata=metadata).count()


def next_run_date(cron: Cron) -> datetime | None:
    """When beat fires the cron next; None once it is past its end time."""
    task = cron.periodic_task
    if task.crontab is None:
        return None
    now = timezone.now()
    if task.expires is not None and task.expires <= now:
        return None
    schedule = task.crontab.schedule
    start, step, _now = schedule.remaining_delta(now.astimezone(schedule.tz))
    return (start + step).astimezone(now.tzinfo)
