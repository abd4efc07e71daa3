"""Celery entry points of webhooks: one delivery attempt per message, retried with backoff."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.db import close_old_connections

from webhooks import services

logger = logging.getLogger(__name__)


@shared_task(name="webhooks.deliver", ignore_result=True)
def deliver(delivery_id: str) -> None:
    close_old_connections()
    try:
        delay = services.webhook_deliver(delivery_id=uuid.UUID(delivery_id))
        if delay is not None:
            services.webhook_dispatch(uuid.UUID(delivery_id), countdown=delay)
    finally:
        close_old_connections()


@shared_task(name="webhooks.redeliver_overdue", ignore_result=True)
def redeliver_overdue() -> None:
    """Scheduled by beat: queue again the deliveries whose message was lost."""
    close_old_connections()
    try:
        services.webhook_redeliver_overdue()
    finally:
        close_old_connections()
