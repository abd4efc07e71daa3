"""Cron: a schedule that creates a run each time it fires. Its timing (crontab, timezone,
end time, enabled) lives in its django-celery-beat PeriodicTask, so the admin's
schedules and the API never disagree."""

from __future__ import annotations

from django.db import models
from django_celery_beat.models import PeriodicTask

from core.ids import uuid7


class OnRunCompleted(models.TextChoices):
    DELETE = "delete"
    KEEP = "keep"


class Cron(models.Model):
    cron_id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    assistant_id = models.UUIDField()
    # A thread's cron goes with its thread; a stateless cron (no thread) makes a new
    # thread for each run.
    thread = models.ForeignKey(
        "threads.Thread", null=True, blank=True, on_delete=models.CASCADE, related_name="crons"
    )
    user_id = models.CharField(max_length=255, null=True, blank=True)
    # The run each firing creates: the body of the create request (input, config,
    # context, metadata, multitask_strategy, webhook, ...).
    payload = models.JSONField(default=dict, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    on_run_completed = models.CharField(
        max_length=8, choices=OnRunCompleted.choices, null=True, blank=True
    )
    # Deleting the periodic task (e.g. in the admin) deletes the cron with it.
    periodic_task = models.OneToOneField(
        PeriodicTask, on_delete=models.CASCADE, related_name="spindle_cron"
    )
    last_fired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return str(self.cron_id)

    @property
    def schedule(self) -> str:
        crontab = self.periodic_task.crontab
        if crontab is None:
            return ""
        return " ".join(
            [
                crontab.minute,
                crontab.hour,
                crontab.day_of_month,
                crontab.month_of_year,
                crontab.day_of_week,
            ]
        )

    @property
    def timezone(self) -> str | None:
        crontab = self.periodic_task.crontab
        if crontab is None:
            return None
        zone = str(crontab.timezone)
        # A cron created without a timezone runs in UTC and shows none, as officially.
        return None if zone == "UTC" and not self.payload.get("timezone") else zone

    @property
    def enabled(self) -> bool:
        return self.periodic_task.enabled

    @property
    def end_time(self) -> object:
        return self.periodic_task.expires
