"""Run: one execution of an assistant's graph on a thread."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from core.ids import uuid7


class RunStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    INTERRUPTED = "interrupted"


ACTIVE_STATUSES = (RunStatus.PENDING, RunStatus.RUNNING)
# The same, as a SQL list for the hand-written statements: `status IN {ACTIVE_SQL}`.
ACTIVE_SQL = "(" + ", ".join(f"'{status}'" for status in ACTIVE_STATUSES) + ")"


class MultitaskStrategy(models.TextChoices):
    REJECT = "reject"
    ENQUEUE = "enqueue"
    INTERRUPT = "interrupt"
    ROLLBACK = "rollback"


class CancelAction(models.TextChoices):
    INTERRUPT = "interrupt"
    ROLLBACK = "rollback"


class Run(models.Model):
    run_id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No index of its own: run_thread_created_idx starts with thread_id and serves every
    # lookup by thread. Each run is written three times, and none of its updates is HOT
    # (status is indexed), so every index costs three insertions per run (run_active_idx,
    # which holds active runs only, two).
    thread = models.ForeignKey(
        "threads.Thread", on_delete=models.CASCADE, related_name="runs", db_index=False
    )
    assistant_id = models.UUIDField()
    status = models.CharField(max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    multitask_strategy = models.CharField(
        max_length=16, choices=MultitaskStrategy.choices, default=MultitaskStrategy.ENQUEUE
    )
    metadata = models.JSONField(default=dict, blank=True)
    # The request as the SDK's Run.kwargs shows it: input, command, config, context,
    # stream_mode, interrupt_before/after, ...
    kwargs = models.JSONField(default=dict, blank=True)
    error = models.JSONField(null=True, blank=True)
    cancel_action = models.CharField(
        max_length=16, choices=CancelAction.choices, null=True, blank=True
    )
    attempt = models.PositiveIntegerField(default=0)
    worker = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True, db_index=False)
    updated_at = models.DateTimeField(auto_now=True)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # after_seconds: the run starts no earlier, and until then the sweeper does not take
    # its broker message (sent with that countdown) for lost. Null: due at creation.
    due_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["thread"],
                condition=Q(status="running"),
                name="one_running_run_per_thread",
            ),
        ]
        indexes = [
            models.Index(fields=["thread", "created_at"], name="run_thread_created_idx"),
            # Only active runs: every lookup by status asks for pending or running ones
            # (a thread's queue head, whether it is busy, the sweeper, the metrics), so
            # those cost the active runs, not the history. An index over every status
            # also tempted the planner, for `run_id = $1 AND status = $2`, to scan all
            # the runs ended with one status instead of taking the primary key.
            models.Index(
                fields=["thread", "created_at", "run_id"],
                name="run_active_idx",
                condition=Q(status__in=ACTIVE_STATUSES),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} ({self.status})"
