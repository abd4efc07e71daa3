"""WebhookDelivery: one webhook call owed for an ended run, its payload and attempts."""

from __future__ import annotations

from django.db import models

from core.ids import uuid7


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class WebhookDelivery(models.Model):
    delivery_id = models.UUIDField(primary_key=True, default=uuid7, editable=False)
    # No foreign key: the payload outlives the run (a stateless run's thread goes at its end).
    run_id = models.UUIDField(db_index=True)
    url = models.TextField()
    payload = models.JSONField()
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"
        # The pending ones, which the redelivery of lost messages reads (webhooks.services).
        indexes = [
            models.Index(
                fields=["updated_at"],
                name="delivery_pending_idx",
                condition=models.Q(status="pending"),
            )
        ]

    def __str__(self) -> str:
        return f"{self.run_id} -> {self.url} ({self.status})"
