"""Webhook deliveries: recorded when a run with a webhook ends, then POSTed by a task of
their own (never on the run's worker), with a timeout and retries with backoff. A
failure is logged with the run id and never changes the run."""

from __future__ import annotations

import logging
import uuid
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from core.json import to_jsonable
from core.webhook_urls import WebhookRefused, webhook_url_check
from runs.api.serializers import run_to_json
from runs.models import Run
from threads.models import Thread
from webhooks.models import DeliveryStatus, WebhookDelivery

logger = logging.getLogger(__name__)

DELIVER_TASK = "webhooks.deliver"


def webhook_on_run_end(
    sender: Any, *, run_id: uuid.UUID, status: str, error: dict | None, values: Any, **kwargs: Any
) -> None:
    """run_ended receiver: record the delivery the run's webhook is owed and queue it once
    the transaction commits (the one that ends the run, when the worker knew of the
    webhook: then the run cannot end without it)."""
    try:
        # A savepoint inside the run's transaction: a failure here never undoes the end.
        with transaction.atomic():
            delivery = webhook_record(run_id=run_id, status=status, error=error, values=values)
    except Exception:
        logger.exception("Run %s: could not record its webhook delivery", run_id)
        return
    if delivery is not None:
        transaction.on_commit(partial(webhook_dispatch, delivery.pk), robust=True)


def webhook_dispatch(delivery_id: uuid.UUID, countdown: float | None = None) -> None:
    from config.celery import app

    app.send_task(DELIVER_TASK, args=[str(delivery_id)], countdown=countdown)


def webhook_record(
    *, run_id: uuid.UUID, status: str, error: dict | None, values: Any
) -> WebhookDelivery | None:
    """The delivery for an ended run with a webhook (None without one): the official
    payload, the run with its status, times, values and error."""
    run = Run.objects.filter(pk=run_id).first()
    if run is None or not (run.kwargs or {}).get("webhook"):
        return None
    if values is None:
        values = Thread.objects.filter(pk=run.thread_id).values_list("values", flat=True).first()
    payload = {
        **run_to_json(run),
        "status": status,
        "run_started_at": run.started_at.isoformat() if run.started_at else None,
        "run_ended_at": (run.ended_at or timezone.now()).isoformat(),
        "values": to_jsonable(values),
    }
    if error:
        payload["error"] = error
    return WebhookDelivery.objects.create(run_id=run.pk, url=run.kwargs["webhook"], payload=payload)


def webhook_deliver(*, delivery_id: uuid.UUID) -> float | None:
    """One attempt. Returns the delay before the next attempt, or None when done
    (delivered, refused, out of attempts, or already settled)."""
    claimed = WebhookDelivery.objects.filter(pk=delivery_id, status=DeliveryStatus.PENDING)
    delivery = claimed.first()
    if delivery is None:
        return None
    attempt = delivery.attempts + 1
    # Compare-and-set on the attempt count: a duplicate message of the same attempt stops here.
    if not claimed.filter(attempts=delivery.attempts).update(
        attempts=attempt, updated_at=timezone.now()
    ):
        return None
    try:
        webhook_url_check(delivery.url)
    except WebhookRefused as exc:
        _settle(delivery, DeliveryStatus.FAILED, exc.detail)
        logger.warning("Run %s: webhook %s refused: %s", delivery.run_id, delivery.url, exc.detail)
        return None
    body = {**delivery.payload, "webhook_sent_at": datetime.now(UTC).isoformat()}
    try:
        response = httpx.post(
            delivery.url,
            json=body,
            timeout=settings.SPINDLE_WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
        )
        failure = None if response.is_success else f"HTTP {response.status_code}"
    except httpx.HTTPError as exc:
        failure = f"{type(exc).__name__}: {exc}"
    if failure is None:
        _settle(delivery, DeliveryStatus.DELIVERED, "")
        logger.info(
            "Run %s: webhook %s called (attempt %d)", delivery.run_id, delivery.url, attempt
        )
        return None
    if attempt >= settings.SPINDLE_WEBHOOK_MAX_ATTEMPTS:
        _settle(delivery, DeliveryStatus.FAILED, failure)
        logger.error(
            "Run %s: webhook %s failed after %d attempts: %s",
            delivery.run_id,
            delivery.url,
            attempt,
            failure,
        )
        return None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error=failure)
    delay = _backoff(attempt).total_seconds()
    logger.warning(
        "Run %s: webhook %s failed (attempt %d: %s); retrying in %.1fs",
        delivery.run_id,
        delivery.url,
        attempt,
        failure,
        delay,
    )
    return delay


def webhook_redeliver_overdue(*, now: datetime | None = None, limit: int = 500) -> int:
    """Queue again each pending delivery whose next attempt is overdue by more than
    SPINDLE_REDISPATCH_AFTER_SECONDS: its message was lost (Redis restarted without it, or
    was down when it was sent). Returns how many were queued.

    A message that was only late can make one extra attempt (each attempt is claimed by
    compare-and-set on the attempt count, and a delivered one is settled, so no more than
    that): delivery is at least once."""
    now = now or timezone.now()
    slack = timedelta(seconds=settings.SPINDLE_REDISPATCH_AFTER_SECONDS)
    pending = WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING).order_by("updated_at")
    queued = 0
    for delivery_id, attempts, updated_at in pending.values_list(
        "delivery_id", "attempts", "updated_at"
    )[:limit]:
        # After an attempt (updated_at is its start) the next one is queued once it ends.
        attempt_time = timedelta(
            seconds=settings.SPINDLE_WEBHOOK_TIMEOUT_SECONDS if attempts else 0
        )
        if updated_at + attempt_time + _backoff(attempts) + slack > now:
            continue
        webhook_dispatch(delivery_id)
        queued += 1
    if queued:
        logger.warning("Webhooks: %d deliveries whose message was lost queued again", queued)
    return queued


def _backoff(attempts: int) -> timedelta:
    """The wait before the attempt after `attempts` failed ones (none before the first)."""
    if attempts == 0:
        return timedelta(0)
    return timedelta(seconds=settings.SPINDLE_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1))


def _settle(delivery: WebhookDelivery, status: str, error: str) -> None:
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=status,
        last_error=error,
        updated_at=now,
        delivered_at=now if status == DeliveryStatus.DELIVERED else None,
    )
