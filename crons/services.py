"""Every state change of a cron: create, update, delete, and fire (create its run)."""

from __future__ import annotations

import json
import logging
import uuid
import zoneinfo
from datetime import datetime, timedelta
from typing import Any

from celery.schedules import crontab as celery_crontab
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from access.filters import caller_q
from assistants.selectors import assistant_resolve
from core.errors import InvalidInput, NotFound, SpindleError
from core.ids import uuid7
from crons.models import Cron, OnRunCompleted
from runs.services import run_create
from threads.models import Thread

logger = logging.getLogger(__name__)

FIRE_TASK = "crons.fire"
# Beat may send a firing twice (a restart between sending and recording it): a cron that
# fired less than this long ago is skipped. Crontab schedules fire at most once a minute.
REFIRE_GUARD = timedelta(seconds=30)
# The request fields a firing passes on to run_create.
RUN_FIELDS = (
    "assistant_id",
    "input",
    "config",
    "context",
    "metadata",
    "webhook",
    "interrupt_before",
    "interrupt_after",
    "multitask_strategy",
    "stream_mode",
    "stream_subgraphs",
    "stream_resumable",
    "durability",
    "checkpoint_during",
)


def task_name(cron_id: uuid.UUID | str) -> str:
    return f"spindle-cron:{cron_id}"


def _crontab(schedule: str, zone: str | None) -> CrontabSchedule:
    """The CrontabSchedule row for a five-field schedule; InvalidInput (422) if malformed."""
    fields = schedule.split()
    invalid = InvalidInput(
        f"Invalid cron schedule: '{schedule}'. Reason: Invalid cron schedule. Ensure the schedule uses "
        "the standard cron format (minute hour day_of_month month day_of_week). "
        "Example: '*/5 * * * *' for every 5 minutes."
    )
    if len(fields) != 5:
        raise invalid
    minute, hour, day_of_month, month_of_year, day_of_week = fields
    try:
        celery_crontab(
            minute=minute,
            hour=hour,
            day_of_month=day_of_month,
            month_of_year=month_of_year,
            day_of_week=day_of_week,
        )
    except (ValueError, TypeError, IndexError):
        raise invalid from None
    tz = _zone(zone)
    found = CrontabSchedule.objects.filter(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone=tz,
    ).first()
    return found or CrontabSchedule.objects.create(
        minute=minute,
        hour=hour,
        day_of_month=day_of_month,
        month_of_year=month_of_year,
        day_of_week=day_of_week,
        timezone=tz,
    )


def _zone(name: str | None) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise InvalidInput(
            f"Invalid timezone: '{name}'. Use IANA timezone format (e.g. 'America/New_York')."
        ) from None


def _resolve_assistant(assistant_id: str) -> Any:
    try:
        return assistant_resolve(assistant_id)
    except NotFound:
        raise NotFound(f"Assistant '{assistant_id}' not found") from None


def cron_create(*, thread_id: uuid.UUID | None, payload: dict[str, Any]) -> Cron:
    """Create a cron (on a thread, or stateless with thread_id None) and its periodic task."""
    assistant = _resolve_assistant(str(payload["assistant_id"]))
    if (
        thread_id is not None
        and not Thread.objects.filter(caller_q("threads"), pk=thread_id).exists()
    ):
        raise NotFound(
            f"Thread with ID '{thread_id}' not found. Please verify the ID is correct and the thread "
            "hasn't been deleted or expired."
        )
    cron_id = uuid7()
    stored = {**payload, "assistant_id": str(assistant.assistant_id)}
    config = dict(stored.get("config") or {})
    config["configurable"] = {**(config.get("configurable") or {}), "cron_id": str(cron_id)}
    stored["config"] = config
    if isinstance(stored.get("end_time"), datetime):
        stored["end_time"] = stored["end_time"].isoformat()
    with transaction.atomic():
        task = PeriodicTask.objects.create(
            name=task_name(cron_id),
            task=FIRE_TASK,
            args=json.dumps([str(cron_id)]),
            crontab=_crontab(payload["schedule"], payload.get("timezone")),
            enabled=payload.get("enabled", True),
            expires=payload.get("end_time"),
            description="Spindle cron: each firing creates a run",
        )
        return Cron.objects.create(
            cron_id=cron_id,
            assistant_id=assistant.assistant_id,
            thread_id=thread_id,
            payload=stored,
            metadata=payload.get("metadata") or {},
            user_id=_creator_id(stored),
            on_run_completed=None
            if thread_id
            else (payload.get("on_run_completed") or OnRunCompleted.DELETE),
            periodic_task=task,
        )


def cron_update(*, cron_id: uuid.UUID, patch: dict[str, Any]) -> Cron:
    """Change a cron's schedule, timezone, end time, enabled flag, completion policy,
    metadata (merged) or the run it creates (fields replaced)."""
    with transaction.atomic():
        cron = Cron.objects.select_for_update().filter(caller_q("crons"), pk=cron_id).first()
        if cron is None:
            raise NotFound(f"Cron '{cron_id}' not found")
        task = PeriodicTask.objects.select_related("crontab").get(pk=cron.periodic_task_id)
        if "schedule" in patch or "timezone" in patch:
            zone = patch.get("timezone") or cron.payload.get("timezone")
            task.crontab = _crontab(patch.get("schedule") or cron.schedule, zone)
        if "end_time" in patch:
            task.expires = patch["end_time"]
        if patch.get("enabled") is not None:
            task.enabled = patch["enabled"]
        task.save()
        if patch.get("on_run_completed") and cron.thread_id is None:
            cron.on_run_completed = patch["on_run_completed"]
        if patch.get("metadata") is not None:
            cron.metadata = {**cron.metadata, **patch["metadata"]}
        payload = dict(cron.payload)
        for key, value in patch.items():
            if key in ("metadata", "end_time"):
                continue
            if key == "config":
                value = dict(value or {})
                value["configurable"] = {
                    **(value.get("configurable") or {}),
                    "cron_id": str(cron.pk),
                }
            payload[key] = value
        if patch.get("metadata") is not None:
            payload["metadata"] = {**(payload.get("metadata") or {}), **patch["metadata"]}
        if "end_time" in patch:
            payload["end_time"] = patch["end_time"].isoformat() if patch["end_time"] else None
        cron.payload = payload
        cron.save()
    cron.periodic_task = task
    return cron


def cron_delete(*, cron_id: uuid.UUID) -> None:
    """Delete a cron and its periodic task: no more firings. Runs it created go on."""
    with transaction.atomic():
        cron = Cron.objects.filter(caller_q("crons"), pk=cron_id).first()
        if cron is None:
            raise NotFound()
        # Deleting the periodic task deletes the cron (cascade) and tells beat.
        PeriodicTask.objects.filter(pk=cron.periodic_task_id).delete()


def _creator_id(payload: dict[str, Any]) -> str | None:
    """The identity of the cron's creator (custom auth), as the API shows it in `user_id`."""
    creator = ((payload.get("config") or {}).get("configurable") or {}).get(
        "langgraph_auth_user_id"
    )
    return creator if isinstance(creator, str) else None


def cron_fire(*, cron_id: uuid.UUID) -> uuid.UUID | None:
    """Create the cron's run through run_create, as POST .../runs would. None when the cron
    is gone, disabled, past its end time, or fired moments ago (a duplicate firing)."""
    now = timezone.now()
    cron = Cron.objects.select_related("periodic_task").filter(pk=cron_id).first()
    if cron is None:
        # A cron deleted with its thread: its periodic task is an orphan.
        PeriodicTask.objects.filter(name=task_name(cron_id)).delete()
        logger.info("Cron %s: gone; its schedule is removed", cron_id)
        return None
    task = cron.periodic_task
    if not task.enabled:
        return None
    if task.expires is not None and task.expires <= now:
        task.enabled = False
        task.save(update_fields=["enabled"])
        logger.info("Cron %s: past its end time; disabled", cron_id)
        return None
    claimed = Cron.objects.filter(
        Q(last_fired_at__isnull=True) | Q(last_fired_at__lt=now - REFIRE_GUARD), pk=cron_id
    ).update(last_fired_at=now)
    if not claimed:
        logger.info("Cron %s: fired less than %s ago; skipped", cron_id, REFIRE_GUARD)
        return None
    payload = {key: cron.payload[key] for key in RUN_FIELDS if cron.payload.get(key) is not None}
    payload["metadata"] = {**cron.metadata, **(cron.payload.get("metadata") or {})}
    if cron.thread_id is None:
        payload["on_completion"] = cron.on_run_completed or OnRunCompleted.DELETE
    try:
        run = run_create(
            thread_id=cron.thread_id,
            assistant=_resolve_assistant(str(cron.assistant_id)),
            payload=payload,
        )
    except SpindleError as exc:
        # e.g. multitask_strategy "reject" on a busy thread: this firing makes no run.
        logger.warning("Cron %s: no run created: %s", cron_id, exc.detail)
        return None
    logger.info("Cron %s: created run %s on thread %s", cron_id, run.run_id, run.thread_id)
    return run.run_id
