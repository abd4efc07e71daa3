"""Management commands call the same services as the API and the admin."""

from __future__ import annotations

import io
import uuid

import pytest
from django.core.management import CommandError, call_command

from assistants.selectors import assistant_resolve
from assistants.services import assistant_ensure_defaults
from runs import services
from runs.models import Run, RunStatus
from tests.conftest import Dispatched
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _quiet(dispatched: Dispatched) -> None:
    assistant_ensure_defaults()


def _pending_run() -> Run:
    thread = Thread.objects.create()
    return services.run_create(thread_id=thread.pk, assistant=assistant_resolve("echo"), payload={})


def test_cancel_run_interrupts_a_pending_run() -> None:
    run = _pending_run()
    out = io.StringIO()
    call_command("cancel_run", str(run.thread_id), str(run.pk), stdout=out)
    assert out.getvalue().strip() == f"Run {run.pk}: interrupt requested"
    assert Run.objects.get(pk=run.pk).status == RunStatus.INTERRUPTED


def test_cancel_run_rollback_deletes_it() -> None:
    run = _pending_run()
    call_command(
        "cancel_run",
        str(run.thread_id),
        str(run.pk),
        "--action",
        "rollback",
        "--no-input",
        stdout=io.StringIO(),
    )
    assert not Run.objects.filter(pk=run.pk).exists()


def test_cancel_of_an_unknown_run_fails_with_the_reason() -> None:
    run = _pending_run()
    with pytest.raises(CommandError, match="No runs found to cancel."):
        call_command("cancel_run", str(run.thread_id), str(uuid.uuid4()))


def test_delete_run_without_input() -> None:
    run = _pending_run()
    out = io.StringIO()
    call_command("delete_run", str(run.thread_id), str(run.pk), "--no-input", stdout=out)
    assert out.getvalue().splitlines() == [
        f"Run {run.pk}: deleted",
        "Deleted 1 run, 0 checkpoints and 0 pending writes.",
    ]
    assert not Run.objects.filter(pk=run.pk).exists()
    assert Thread.objects.get(pk=run.thread_id).status == "idle"


def test_sweep_runs_reports_its_counts() -> None:
    out = io.StringIO()
    call_command("sweep_runs", stdout=out)
    assert out.getvalue().strip() == "0 lost runs ended, 0 pending runs re-dispatched"
