"""The admin shows runs read-only, and its cancel, rollback and delete go through the services."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from assistants.selectors import assistant_resolve
from assistants.services import assistant_ensure_defaults
from runs import services
from runs.models import Run, RunStatus
from tests.conftest import Dispatched
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def admin_client(dispatched: Dispatched) -> Client:
    assistant_ensure_defaults()
    User.objects.create_superuser("admin", "admin@example.com", "pw")
    client = Client()
    client.login(username="admin", password="pw")
    return client


def _running_run() -> Run:
    thread = Thread.objects.create()
    run = services.run_create(thread_id=thread.pk, assistant=assistant_resolve("echo"), payload={})
    services.run_claim(run_id=run.pk, worker="test")
    return Run.objects.get(pk=run.pk)


def test_changelists_render(admin_client: Client) -> None:
    _running_run()
    for path in ("/admin/runs/run/", "/admin/threads/thread/", "/admin/threads/checkpoint/"):
        assert admin_client.get(path).status_code == 200, path


def test_runs_cannot_be_added_or_changed(admin_client: Client) -> None:
    run = _running_run()
    assert admin_client.get("/admin/runs/run/add/").status_code == 403
    page = admin_client.get(f"/admin/runs/run/{run.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_cancel_action_flags_the_running_run(admin_client: Client) -> None:
    run = _running_run()
    response = admin_client.post(
        "/admin/runs/run/",
        {"action": "cancel_runs", "_selected_action": [str(run.pk)]},
        follow=True,
    )
    assert b"Interrupted 1 run." in response.content
    run.refresh_from_db()
    assert (run.status, run.cancel_action) == (RunStatus.RUNNING, "interrupt")


def test_rollback_action_deletes_the_run(admin_client: Client) -> None:
    run = _running_run()
    response = admin_client.post(
        "/admin/runs/run/",
        {"action": "rollback_runs", "_selected_action": [str(run.pk)]},
        follow=True,
    )
    assert b"Rolled back 1 run." in response.content
    assert not Run.objects.filter(pk=run.pk).exists()
    assert Thread.objects.get(pk=run.thread_id).status == "idle"


def test_finished_run_cannot_be_cancelled_and_says_why(admin_client: Client) -> None:
    run = _running_run()
    services.run_finish(run_id=run.pk, status=RunStatus.SUCCESS, values={})
    response = admin_client.post(
        "/admin/runs/run/",
        {"action": "cancel_runs", "_selected_action": [str(run.pk)]},
        follow=True,
    )
    assert b"No matching runs to cancel" in response.content


def test_delete_goes_through_the_service(admin_client: Client) -> None:
    run = _running_run()
    response = admin_client.post(f"/admin/runs/run/{run.pk}/delete/", {"post": "yes"}, follow=True)
    assert response.status_code == 200
    assert not Run.objects.filter(pk=run.pk).exists()
    assert Thread.objects.get(pk=run.thread_id).status == "idle", (
        "an active run was rolled back, not left busy"
    )


def test_runs_list_filters_and_searches_by_thread_assistant_and_metadata(
    admin_client: Client,
) -> None:
    run = _running_run()
    Run.objects.filter(pk=run.pk).update(metadata={**run.metadata, "team": "ops"})
    other = _running_run()

    def listed(params: dict[str, str]) -> set:
        page = admin_client.get("/admin/runs/run/", params)
        assert page.status_code == 200, params
        return {r.pk for r in page.context["cl"].result_list}

    assert listed({"thread_id": str(run.thread_id)}) == {run.pk}
    assert listed({"q": str(run.thread_id)}) == {run.pk}
    assert listed({"q": str(run.pk)}) == {run.pk}
    assert listed({"q": "team=ops"}) == {run.pk}
    assert listed({"q": "ops"}) == {run.pk}
    assert listed({"assistant_id": str(run.assistant_id)}) == {run.pk, other.pk}
    assert listed({"graph": "echo"}) == {run.pk, other.pk}
    assert listed({"graph": "agent"}) == set()
    assert listed({"thread_id": "not-a-uuid"}) == set()


def test_run_page_shows_timings_to_the_millisecond_and_links_checkpoints(
    admin_client: Client,
) -> None:
    run = _running_run()
    page = admin_client.get(f"/admin/runs/run/{run.pk}/change/").content.decode()
    started = run.started_at.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    assert started in page
    assert f"/admin/threads/checkpoint/?run_id={run.pk}" in page
    assert f"/admin/threads/thread/{run.thread_id}/change/" in page


def test_a_failed_run_shows_its_traceback_but_the_api_does_not(admin_client: Client) -> None:
    run = _running_run()
    services.run_finish(
        run_id=run.pk,
        status=RunStatus.ERROR,
        error={"error": "ValueError", "message": "boom"},
        traceback='Traceback (most recent call last):\n  File "graph.py", line 1\nValueError: boom',
    )
    page = admin_client.get(f"/admin/runs/run/{run.pk}/change/").content.decode()
    assert "ValueError</strong>: boom" in page
    assert "File &quot;graph.py&quot;, line 1" in page
    thread = Thread.objects.get(pk=run.thread_id)
    assert thread.error == {"error": "ValueError", "message": "boom"}, (
        "the thread (API) has no traceback"
    )


def test_thread_search_with_text_that_is_no_id_finds_nothing(admin_client: Client) -> None:
    _running_run()
    page = admin_client.get("/admin/threads/thread/", {"q": "nope"})
    assert page.status_code == 200
    assert page.context["cl"].result_count == 0
