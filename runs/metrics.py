"""GET /metrics: queue depth, runs by status and worker slots, as Prometheus text or JSON
with the official server's metric names."""

from __future__ import annotations

import logging
import statistics
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef
from django.utils import timezone

from runs.models import Run, RunStatus

logger = logging.getLogger(__name__)

# How long /metrics waits for the Celery workers to say how many processes they run.
WORKER_INSPECT_TIMEOUT = 1.0
PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def queue_stats() -> dict[str, Any]:
    """The official `queue` section: pending and running counts and how long pending runs
    have waited (an unblocked one has no running run ahead of it on its thread)."""
    now = timezone.now()
    running_on_thread = Run.objects.filter(
        thread_id=OuterRef("thread_id"), status=RunStatus.RUNNING
    )
    pending = list(
        Run.objects.filter(status=RunStatus.PENDING)
        .annotate(blocked=Exists(running_on_thread))
        .values_list("created_at", "blocked")
    )
    waits = [_seconds(now, created) for created, _ in pending]
    unblocked = [_seconds(now, created) for created, blocked in pending if not blocked]
    return {
        "n_pending": len(pending),
        "pending_runs_wait_time_max_secs": max(waits) if waits else None,
        "pending_runs_wait_time_med_secs": statistics.median(waits) if waits else None,
        "pending_unblocked_runs_wait_time_max_secs": max(unblocked) if unblocked else None,
        "n_running": Run.objects.filter(status=RunStatus.RUNNING).count(),
    }


def _seconds(now: datetime, then: datetime) -> float:
    return max(0.0, (now - then).total_seconds())


def runs_by_status() -> dict[str, int]:
    """How many runs are in each status (every status, zeros included)."""
    counts = dict(Run.objects.order_by().values_list("status").annotate(n=Count("run_id")))
    return {status: counts.get(status, 0) for status in RunStatus.values}


def worker_stats(n_running: int) -> dict[str, int]:
    """Run slots: the worker processes the Celery workers that answer run (`max`), the
    runs running now (`active`), and the difference (`available`)."""
    from config.celery import app

    try:
        replies = app.control.inspect(timeout=WORKER_INSPECT_TIMEOUT).stats() or {}
    except Exception as exc:  # the broker is down: no worker can be counted
        logger.warning("Could not ask the workers for their stats: %s", exc)
        replies = {}
    slots = sum(
        int((reply.get("pool") or {}).get("max-concurrency") or 0) for reply in replies.values()
    )
    return {"max": slots, "active": n_running, "available": max(0, slots - n_running)}


def metrics_json() -> dict[str, Any]:
    queue = queue_stats()
    return {
        "queue": queue,
        "runs": runs_by_status(),
        "workers": worker_stats(queue["n_running"]),
    }


def metrics_prometheus(data: dict[str, Any]) -> str:
    """The JSON metrics in the Prometheus text format, named as the official server names them."""
    queue, workers = data["queue"], data["workers"]
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, Any]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        for labels, value in samples:
            lines.append(f"{name}{labels} {float(value or 0)}")

    gauge(
        "lg_api_num_pending_runs",
        "The number of runs currently pending.",
        [("", queue["n_pending"])],
    )
    gauge(
        "lg_api_num_running_runs",
        "The number of runs currently running.",
        [("", queue["n_running"])],
    )
    gauge(
        "lg_api_pending_runs_wait_time_max",
        "The longest time a pending run has waited, in seconds.",
        [("", queue["pending_runs_wait_time_max_secs"])],
    )
    gauge(
        "lg_api_pending_runs_wait_time_med",
        "The median time pending runs have waited, in seconds.",
        [("", queue["pending_runs_wait_time_med_secs"])],
    )
    gauge(
        "lg_api_pending_unblocked_runs_wait_time_max",
        "The longest time a pending run not blocked by a running run on its thread has waited, in seconds.",
        [("", queue["pending_unblocked_runs_wait_time_max_secs"])],
    )
    gauge("lg_api_workers_max", "Run slots of the workers that answered.", [("", workers["max"])])
    gauge("lg_api_workers_active", "Run slots in use.", [("", workers["active"])])
    gauge("lg_api_workers_available", "Run slots free.", [("", workers["available"])])
    gauge(
        "lg_api_runs",
        "Runs stored, by status.",
        [(f'{{status="{status}"}}', count) for status, count in data["runs"].items()],
    )
    return "\n".join(lines) + "\n"
