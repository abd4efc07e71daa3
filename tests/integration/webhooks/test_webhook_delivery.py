"""A run with a webhook cannot end without its delivery, and a delivery whose message was
lost is queued again: real database, real broker (the Redis of REDIS_URL)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from runs import services
from runs.dispatch import EXECUTE_RUN
from runs.models import Run, RunStatus
from tests.broker import queued, remove_queued
from tests.factories import default_assistant
from threads.models import Thread
from webhooks import services as webhooks
from webhooks.models import DeliveryStatus, WebhookDelivery

pytestmark = pytest.mark.django_db(transaction=True)

HOOK = "https://hooks.example.com/spindle"


@pytest.fixture
def running() -> Run:
    """A claimed run whose kwargs name a webhook, made through the services as the API does
    (its message goes to the broker; no worker takes it here)."""
    run = services.run_create(
        thread_id=Thread.objects.create().pk,
        assistant=default_assistant("echo"),
        payload={"input": {"messages": []}, "webhook": HOOK},
    )
    claimed = services.run_claim(run_id=run.pk, worker="w@h:1")
    assert claimed is not None and claimed.kwargs["webhook"] == HOOK
    return claimed


def queued_delivery_ids() -> list[str]:
    return [delivery_id for _raw, delivery_id in queued(webhooks.DELIVER_TASK)]


@pytest.fixture(autouse=True)
def _broker_left_clean() -> Iterator[None]:
    if not settings.REDIS_URL:
        pytest.skip("needs the Redis broker (set REDIS_URL)")
    yield
    remove_queued(webhooks.DELIVER_TASK, EXECUTE_RUN)


def test_the_delivery_is_written_in_the_transaction_that_ends_the_run(running: Run) -> None:
    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic():
        assert services.run_finish(
            run_id=running.pk, status=RunStatus.SUCCESS, values={"x": 1}, webhook=True
        )
        # Before any commit: written with the end, not by an after-commit callback.
        delivery = WebhookDelivery.objects.get(run_id=running.pk)
        assert delivery.url == HOOK
        assert (delivery.payload["status"], delivery.payload["values"]) == ("success", {"x": 1})
        raise Abandoned  # the transaction fails: neither the end nor the delivery stays

    assert Run.objects.get(pk=running.pk).status == RunStatus.RUNNING
    assert not WebhookDelivery.objects.filter(run_id=running.pk).exists()

    assert services.run_finish(run_id=running.pk, status=RunStatus.SUCCESS, webhook=True)
    assert Run.objects.get(pk=running.pk).status == RunStatus.SUCCESS
    assert WebhookDelivery.objects.filter(run_id=running.pk).count() == 1
    assert str(WebhookDelivery.objects.get(run_id=running.pk).pk) in queued_delivery_ids()


def test_a_delivery_that_cannot_be_recorded_never_undoes_the_run_s_end(
    running: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    def failing_record(**kwargs: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT * FROM no_such_table")  # a real database error

    monkeypatch.setattr(webhooks, "webhook_record", failing_record)

    assert services.run_finish(run_id=running.pk, status=RunStatus.SUCCESS, webhook=True)

    assert Run.objects.get(pk=running.pk).status == RunStatus.SUCCESS
    assert not WebhookDelivery.objects.filter(run_id=running.pk).exists()


def test_a_lost_worker_s_run_ends_with_its_delivery(running: Run) -> None:
    assert services.run_end_lost(run_id=running.pk)

    delivery = WebhookDelivery.objects.get(run_id=running.pk)
    assert delivery.payload["status"] == RunStatus.ERROR
    assert delivery.payload["error"]["error"] == "WorkerLost"


def test_deliveries_whose_next_attempt_is_overdue_are_queued_again(settings) -> None:
    settings.SPINDLE_REDISPATCH_AFTER_SECONDS = 30
    settings.SPINDLE_WEBHOOK_BACKOFF_SECONDS = 100
    settings.SPINDLE_WEBHOOK_TIMEOUT_SECONDS = 10
    now = timezone.now()

    def delivery(age_seconds: float, **fields: object) -> WebhookDelivery:
        made = WebhookDelivery.objects.create(
            run_id=uuid.uuid4(), url=HOOK, payload={"x": 1}, **fields
        )
        WebhookDelivery.objects.filter(pk=made.pk).update(
            updated_at=now - timedelta(seconds=age_seconds)
        )
        return made

    lost_first = delivery(31)  # never attempted, queued 31 s ago
    fresh = delivery(5)
    done = delivery(600, status=DeliveryStatus.DELIVERED, attempts=1)
    # One failed attempt 60 s ago: the next is due 10 + 100 s after it, plus 30 s of slack.
    waiting_retry = delivery(60, attempts=1)
    lost_retry = delivery(141, attempts=1)

    assert webhooks.webhook_redeliver_overdue(now=now) == 2

    queued = queued_delivery_ids()
    assert str(lost_first.pk) in queued and str(lost_retry.pk) in queued
    assert not {str(d.pk) for d in (fresh, done, waiting_retry)} & set(queued)
