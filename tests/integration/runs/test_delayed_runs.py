"""A run created with after_seconds keeps its time: it does not start before it is due,
and the sweeper does not take its message for lost before then."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client

from assistants.services import assistant_ensure_defaults
from runs import services
from runs.models import Run
from tests.conftest import Dispatched
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def sent(dispatched: Dispatched) -> list:
    assistant_ensure_defaults()
    return dispatched.countdowns


def create(client: Client, thread: Thread, **body: object) -> Run:
    response = client.post(
        f"/threads/{thread.pk}/runs",
        data=json.dumps({"assistant_id": "echo", **body}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    return Run.objects.get(pk=response.json()["run_id"])


def age(run: Run, seconds: float) -> None:
    """Make the run as old as if it had been created `seconds` ago."""
    delta = timedelta(seconds=seconds)
    Run.objects.filter(pk=run.pk).update(
        created_at=run.created_at - delta, due_at=run.due_at - delta if run.due_at else None
    )


def test_a_delayed_run_records_when_it_is_due_and_is_sent_with_that_countdown(
    client: Client, sent: list
) -> None:
    run = create(client, Thread.objects.create(), after_seconds=90)
    assert run.due_at == run.created_at + timedelta(seconds=90)
    assert sent == [(run.pk, 90)]
    assert create(client, Thread.objects.create()).due_at is None


def test_the_sweeper_waits_for_a_delayed_run_to_be_due_before_taking_its_message_for_lost(
    client: Client, sent: list, settings
) -> None:
    settings.SPINDLE_REDISPATCH_AFTER_SECONDS = 30
    run = create(client, Thread.objects.create(), after_seconds=90)
    sent.clear()
    age(run, 40)  # past the redispatch limit since creation, 50 s before it is due
    assert services.runs_sweep()["redispatched"] == 0
    age(Run.objects.get(pk=run.pk), 75)  # due 25 s ago: its message may still be on its way
    assert services.runs_sweep()["redispatched"] == 0
    age(Run.objects.get(pk=run.pk), 10)  # due 35 s ago: lost
    assert services.runs_sweep()["redispatched"] == 1
    assert sent == [(run.pk, None)]


def test_a_delayed_run_is_not_claimed_before_it_is_due(client: Client) -> None:
    run = create(client, Thread.objects.create(), after_seconds=90)
    # An early message (the head of the queue dispatched when an earlier run ended):
    assert services.run_claim(run_id=run.pk, worker="w") is None
    assert Run.objects.get(pk=run.pk).status == "pending"
    age(run, 90)
    claimed = services.run_claim(run_id=run.pk, worker="w")
    assert claimed is not None and claimed.run_id == run.pk
    assert Run.objects.get(pk=run.pk).status == "running"


def test_a_run_without_delay_is_claimed_at_once(client: Client) -> None:
    run = create(client, Thread.objects.create())
    assert services.run_claim(run_id=run.pk, worker="w") is not None
    assert services.run_claim(run_id=uuid.uuid4(), worker="w") is None
