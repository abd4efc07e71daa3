"""ThreadTTL: when a thread expires and what then happens to it."""

from __future__ import annotations

from django.db import models


class TTLStrategy(models.TextChoices):
    DELETE = "delete"
    KEEP_LATEST = "keep_latest"


class ThreadTTL(models.Model):
    thread = models.OneToOneField(
        "threads.Thread", on_delete=models.CASCADE, primary_key=True, related_name="ttl"
    )
    strategy = models.CharField(
        max_length=16, choices=TTLStrategy.choices, default=TTLStrategy.DELETE
    )
    ttl_minutes = models.FloatField()
    expires_at = models.DateTimeField(db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "thread TTL"

    def __str__(self) -> str:
        return f"{self.thread_id} ({self.strategy} at {self.expires_at})"
