"""client.crons of langgraph_sdk against the crons API, in-process over ASGI; firing
through the service beat's task calls."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from asgiref.sync import sync_to_async
from django_celery_beat.models import PeriodicTask
from langgraph_sdk.client import LangGraphClient

from assistants.graphs import default_assistant_id
from assistants.services import assistant_ensure_defaults
from crons.models import Cron
from crons.services import cron_fire
from runs.models import Run
from tests.factories import asgi_sdk
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)
REPO_ROOT = Path(__file__).resolve().parents[3]
ECHO = str(default_assistant_id("echo"))


@pytest.fixture
async def sdk(settings) -> AsyncIterator[LangGraphClient]:
    settings.LANGGRAPH_CONFIG = str(REPO_ROOT / "langgraph.json")
    await sync_to_async(assistant_ensure_defaults)()
    async with asgi_sdk() as client:
        yield client


async def test_thread_cron_lifecycle_as_officially(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    end = datetime.now(UTC) + timedelta(days=1)
    cron = await sdk.crons.create_for_thread(
        thread["thread_id"],
        "echo",
        schedule="*/5 * * * *",
        input={"messages": [{"role": "human", "content": "hi"}]},
        metadata={"team": "a"},
        config={"configurable": {"k": 1}},
        multitask_strategy="reject",
        end_time=end,
    )
    assert set(cron) == {
        "cron_id",
        "assistant_id",
        "thread_id",
        "on_run_completed",
        "end_time",
        "schedule",
        "timezone",
        "created_at",
        "updated_at",
        "user_id",
        "payload",
        "next_run_date",
        "metadata",
        "enabled",
    }
    assert (cron["assistant_id"], cron["thread_id"], cron["schedule"]) == (
        ECHO,
        thread["thread_id"],
        "*/5 * * * *",
    )
    assert (cron["enabled"], cron["on_run_completed"], cron["timezone"], cron["metadata"]) == (
        True,
        None,
        None,
        {"team": "a"},
    )
    assert datetime.fromisoformat(cron["end_time"]) == end.replace(microsecond=end.microsecond)
    assert cron["payload"]["config"]["configurable"] == {"k": 1, "cron_id": cron["cron_id"]}
    next_run = datetime.fromisoformat(cron["next_run_date"])
    assert next_run.minute % 5 == 0 and timedelta(0) < next_run - datetime.now(UTC) <= timedelta(
        minutes=5
    )
    # The schedule is a django-celery-beat periodic task.
    task = await sync_to_async(PeriodicTask.objects.select_related("crontab").get)(
        name=f"spindle-cron:{cron['cron_id']}"
    )
    assert (task.task, task.crontab.minute, task.enabled) == ("crons.fire", "*/5", True)

    assert await sdk.http.get(f"/runs/crons/{cron['cron_id']}") == cron

    disabled = await sdk.crons.update(
        cron["cron_id"], enabled=False, schedule="0 9 * * 1", timezone="Europe/Paris"
    )
    assert (disabled["enabled"], disabled["schedule"], disabled["timezone"]) == (
        False,
        "0 9 * * 1",
        "Europe/Paris",
    )
    task = await sync_to_async(PeriodicTask.objects.select_related("crontab").get)(pk=task.pk)
    assert (task.enabled, task.crontab.hour, str(task.crontab.timezone)) == (
        False,
        "9",
        "Europe/Paris",
    )
    cleared = await sdk.crons.update(cron["cron_id"], end_time=None, metadata={"more": 1})
    assert cleared["end_time"] is None and cleared["metadata"] == {"team": "a", "more": 1}

    assert [c["cron_id"] for c in await sdk.crons.search(thread_id=thread["thread_id"])] == [
        cron["cron_id"]
    ]
    assert await sdk.crons.search(enabled=True, thread_id=thread["thread_id"]) == []
    assert await sdk.crons.count(thread_id=thread["thread_id"]) == 1
    assert await sdk.crons.count(metadata={"team": "b"}) == 0

    await sdk.crons.delete(cron["cron_id"])
    assert await sync_to_async(PeriodicTask.objects.filter(pk=task.pk).exists)() is False
    with pytest.raises(httpx.HTTPStatusError) as caught:
        await sdk.http.get(f"/runs/crons/{cron['cron_id']}")
    assert caught.value.response.status_code == 404


async def test_search_sorts_pages_and_selects(sdk: LangGraphClient) -> None:
    made = [
        await sdk.crons.create(
            "echo", schedule=f"{i} * * * *", metadata={"i": i}, on_run_completed="keep"
        )
        for i in range(3)
    ]
    ids = [c["cron_id"] for c in made]
    assert [c["cron_id"] for c in await sdk.crons.search()] == ids[::-1]
    assert [c["cron_id"] for c in await sdk.crons.search(sort_order="asc", limit=2)] == ids[:2]
    assert [
        c["cron_id"] for c in await sdk.crons.search(sort_order="asc", limit=2, offset=2)
    ] == ids[2:]
    by_next = await sdk.crons.search(sort_by="next_run_date", sort_order="asc")
    assert [c["next_run_date"] for c in by_next] == sorted(c["next_run_date"] for c in by_next)
    assert await sdk.crons.search(select=["cron_id", "schedule"], limit=1) == [
        {"cron_id": ids[2], "schedule": "2 * * * *"}
    ]
    assert made[0]["on_run_completed"] == "keep" and made[0]["thread_id"] is None
    assert await sdk.crons.count(assistant_id=ECHO) == 3
    response = await sdk.http.client.post("/runs/crons/search", json={"limit": 1})
    assert (response.headers["X-Pagination-Total"], response.headers["X-Pagination-Next"]) == (
        "3",
        "1",
    )


async def test_bad_requests_answer_4xx_and_write_nothing(sdk: LangGraphClient) -> None:
    http = sdk.http.client
    thread = await sdk.threads.create()
    missing = uuid.uuid4()
    cases = [
        (
            "POST",
            "/runs/crons",
            {"assistant_id": "echo", "schedule": "every minute"},
            422,
            "Invalid cron schedule",
        ),
        (
            "POST",
            "/runs/crons",
            {"assistant_id": "echo", "schedule": "61 * * * *"},
            422,
            "Invalid cron schedule",
        ),
        (
            "POST",
            "/runs/crons",
            {"assistant_id": "echo", "schedule": "* * * * *", "timezone": "Mars/Base"},
            422,
            "Invalid timezone",
        ),
        (
            "POST",
            "/runs/crons",
            {"assistant_id": "nope", "schedule": "* * * * *"},
            422,
            "Invalid assistant",
        ),
        (
            "POST",
            "/runs/crons",
            {"assistant_id": str(missing), "schedule": "* * * * *"},
            404,
            f"Assistant '{missing}' not found",
        ),
        ("POST", "/runs/crons", {"schedule": "* * * * *"}, 422, "assistant_id"),
        (
            "POST",
            "/runs/crons",
            {"assistant_id": "echo", "schedule": "* * * * *", "on_run_completed": "x"},
            422,
            "on_run_completed",
        ),
        (
            "POST",
            f"/threads/{missing}/runs/crons",
            {"assistant_id": "echo", "schedule": "* * * * *"},
            404,
            "not found",
        ),
        (
            "POST",
            "/threads/bad/runs/crons",
            {"assistant_id": "echo", "schedule": "* * * * *"},
            422,
            "Invalid thread ID",
        ),
        ("GET", "/runs/crons/bad", None, 422, "Invalid cron ID: must be a UUID"),
        ("PATCH", f"/runs/crons/{missing}", {"enabled": False}, 404, f"Cron '{missing}' not found"),
        ("DELETE", f"/runs/crons/{missing}", None, 404, "Not Found"),
        ("POST", "/runs/crons/search", {"sort_by": "name"}, 422, "sort_by"),
        ("POST", "/runs/crons/search", {"limit": 0}, 422, "limit"),
    ]
    for method, path, body, status, needle in cases:
        response = await http.request(method, path, json=body)
        assert response.status_code == status, (path, body, response.text)
        assert needle in response.json()["detail"], (path, body, response.json())
    assert await sync_to_async(Cron.objects.count)() == 0
    assert await sync_to_async(PeriodicTask.objects.filter(task="crons.fire").count)() == 0
    cron = await sdk.crons.create_for_thread(thread["thread_id"], "echo", schedule="* * * * *")
    response = await http.patch(f"/runs/crons/{cron['cron_id']}", json={})
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "Request body cannot be empty"},
    )


def _fire(cron_id: str) -> uuid.UUID | None:
    return cron_fire(cron_id=uuid.UUID(cron_id))


async def test_a_firing_creates_an_ordinary_run_once(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    cron = await sdk.crons.create_for_thread(
        thread["thread_id"],
        "echo",
        schedule="* * * * *",
        input={"messages": [{"role": "human", "content": "tick"}]},
        metadata={"from": "cron"},
    )
    run_id = await sync_to_async(_fire)(cron["cron_id"])
    assert run_id is not None
    run = await sdk.runs.get(thread["thread_id"], str(run_id))
    assert run["metadata"]["from"] == "cron" and run["assistant_id"] == ECHO
    assert run["kwargs"]["config"]["configurable"]["cron_id"] == cron["cron_id"]
    assert run["kwargs"]["input"] == {"messages": [{"role": "human", "content": "tick"}]}
    # A second delivery of the same firing makes no second run.
    assert await sync_to_async(_fire)(cron["cron_id"]) is None
    assert await sync_to_async(Run.objects.filter(thread_id=thread["thread_id"]).count)() == 1

    stateless = await sdk.crons.create("echo", schedule="* * * * *", input={"messages": []})
    stateless_run = await sync_to_async(_fire)(stateless["cron_id"])
    row = await sync_to_async(Run.objects.get)(pk=stateless_run)
    assert row.thread_id != uuid.UUID(thread["thread_id"])
    assert (row.kwargs["temporary"], row.kwargs["on_completion"]) == (True, "delete")

    expired = await sdk.crons.create(
        "echo", schedule="* * * * *", end_time=datetime.now(UTC) - timedelta(minutes=1)
    )
    assert expired["next_run_date"] is None
    assert await sync_to_async(_fire)(expired["cron_id"]) is None
    assert (await sdk.crons.search(enabled=False))[0]["cron_id"] == expired["cron_id"]


async def test_deleting_the_thread_deletes_its_crons(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create()
    cron = await sdk.crons.create_for_thread(thread["thread_id"], "echo", schedule="* * * * *")
    await sdk.threads.delete(thread["thread_id"])
    assert await sync_to_async(Cron.objects.count)() == 0
    # Its periodic task is an orphan until its next firing removes it.
    assert await sync_to_async(_fire)(cron["cron_id"]) is None
    assert await sync_to_async(PeriodicTask.objects.filter(task="crons.fire").count)() == 0
    assert await sync_to_async(Thread.objects.count)() == 0
