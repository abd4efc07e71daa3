"""A run committed while its dispatch fails (Redis down) is answered normally; the sweeper
dispatches it later. Side effects after commit never turn a done request into a 500."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from assistants.services import assistant_ensure_defaults
from runs import services
from runs.models import Run
from tests.conftest import Dispatched
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _broker_down(dispatched: Dispatched) -> list:
    """The dispatch seam fails as Celery does when Redis is down."""
    dispatched.fail = BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    assistant_ensure_defaults()
    return dispatched.enqueued


@pytest.mark.parametrize("path", ["/threads/{tid}/runs", "/runs"])
@pytest.mark.parametrize("after_seconds", [None, 60])
def test_a_committed_run_is_answered_when_its_dispatch_fails(
    client: Client, _broker_down: list, path: str, after_seconds: float | None
) -> None:
    thread = Thread.objects.create()
    body = {"assistant_id": "echo", "after_seconds": after_seconds}
    response = client.post(
        path.format(tid=thread.pk), data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    run = Run.objects.get(pk=response.json()["run_id"])
    assert run.status == "pending"
    assert _broker_down == [run.pk]


def test_the_sweeper_dispatches_a_run_whose_dispatch_failed(
    client: Client, _broker_down: list, dispatched: Dispatched
) -> None:
    thread = Thread.objects.create()
    response = client.post(
        f"/threads/{thread.pk}/runs",
        data=json.dumps({"assistant_id": "echo"}),
        content_type="application/json",
    )
    run_id = uuid.UUID(response.json()["run_id"])
    dispatched.fail = None
    dispatched.enqueued.clear()
    sent = dispatched.enqueued
    assert services.runs_sweep()["redispatched"] == 0  # not yet: its message may still come
    Run.objects.filter(pk=run_id).update(created_at=timezone.now() - timedelta(minutes=5))
    assert services.runs_sweep()["redispatched"] == 1
    assert sent == [run_id]


def test_a_cancel_is_answered_when_its_side_effects_fail(client: Client) -> None:
    thread = Thread.objects.create()
    response = client.post(
        f"/threads/{thread.pk}/runs",
        data=json.dumps({"assistant_id": "echo"}),
        content_type="application/json",
    )
    run_id = response.json()["run_id"]
    response = client.generic("POST", f"/threads/{thread.pk}/runs/{run_id}/cancel")
    assert response.status_code == 202
    assert Run.objects.get(pk=run_id).status == "interrupted"
