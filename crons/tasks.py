"""Celery entry points of crons: beat sends `crons.fire` with the cron's id."""

from __future__ import annotations

import logging
import uuid

from celery import shared_task
from django.db import close_old_connections

from crons import services

logger = logging.getLogger(__name__)


@shared_task(name="crons.fire", ignore_result=True)
def fire(cron_id: str) -> None:
    close_old_connections()
    try:
        services.cron_fire(cron_id=uuid.UUID(cron_id))
    except Exception:
        logger.exception("Cron %s: firing failed", cron_id)
    finally:
        close_old_connections()
