"""Thread TTLs set through langgraph_sdk (create, update, langgraph.json's default), and
the sweep on threads that are idle, gone or keep_latest."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from langgraph_sdk.client import LangGraphClient

from config.langgraph_json import reset_langgraph_json
from tests.factories import asgi_sdk
from thread_ttl.models import ThreadTTL
from thread_ttl.services import threads_sweep_expired
from threads.models import Thread

pytestmark = pytest.mark.django_db(transaction=True)
REPO_ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
async def sdk(settings, tmp_path: Path) -> AsyncIterator[LangGraphClient]:
    settings.LANGGRAPH_CONFIG = str(REPO_ROOT / "langgraph.json")
    reset_langgraph_json()
    async with asgi_sdk() as client:
        yield client
    reset_langgraph_json()


def _ttl(thread_id: str) -> ThreadTTL | None:
    return ThreadTTL.objects.filter(thread_id=thread_id).first()


async def test_ttl_on_create_and_update(sdk: LangGraphClient) -> None:
    thread = await sdk.threads.create(ttl=5)
    ttl = await sync_to_async(_ttl)(thread["thread_id"])
    assert (ttl.strategy, ttl.ttl_minutes) == ("delete", 5)
    assert timedelta(minutes=4) < ttl.expires_at - timezone.now() <= timedelta(minutes=5)
    await sdk.threads.update(
        thread["thread_id"], metadata={"a": 1}, ttl={"ttl": 60, "strategy": "keep_latest"}
    )
    ttl = await sync_to_async(_ttl)(thread["thread_id"])
    assert (ttl.strategy, ttl.ttl_minutes) == ("keep_latest", 60)
    assert ttl.expires_at - timezone.now() > timedelta(minutes=59)
    plain = await sdk.threads.create()
    assert await sync_to_async(_ttl)(plain["thread_id"]) is None


async def test_bad_ttls_answer_422_and_write_nothing(sdk: LangGraphClient) -> None:
    http = sdk.http.client
    for ttl, needle in [
        ({"ttl": -1}, "ttl.ttl"),
        ({"ttl": 1, "strategy": "archive"}, "ttl.strategy"),
        ("soon", "ttl"),
        (5, "must be an object"),
    ]:
        response = await http.post("/threads", json={"ttl": ttl})
        assert response.status_code == 422, response.text
        assert needle in response.json()["detail"]
    assert await sync_to_async(Thread.objects.count)() == 0
    thread = await sdk.threads.create()
    response = await http.patch(
        f"/threads/{thread['thread_id']}", json={"metadata": {"x": 1}, "ttl": {"ttl": 0}}
    )
    assert response.status_code == 422
    assert (await sdk.threads.get(thread["thread_id"]))["metadata"] == {}


async def test_default_ttl_from_langgraph_json(
    sdk: LangGraphClient, settings, tmp_path: Path
) -> None:
    document = json.loads((REPO_ROOT / "langgraph.json").read_text())
    document["dependencies"] = [str(REPO_ROOT)]
    document["graphs"] = {
        k: str(REPO_ROOT / v.removeprefix("./")) for k, v in document["graphs"].items()
    }
    document["checkpointer"] = {"ttl": {"strategy": "delete", "default_ttl": 30}}
    (tmp_path / "langgraph.json").write_text(json.dumps(document))
    settings.LANGGRAPH_CONFIG = str(tmp_path / "langgraph.json")
    reset_langgraph_json()
    thread = await sdk.threads.create()
    ttl = await sync_to_async(_ttl)(thread["thread_id"])
    assert (ttl.strategy, ttl.ttl_minutes) == ("delete", 30)
    explicit = await sdk.threads.create(ttl=2)
    assert (await sync_to_async(_ttl)(explicit["thread_id"])).ttl_minutes == 2


def test_the_sweep_deletes_expired_idle_threads_only() -> None:
    now = timezone.now()
    expired, fresh = Thread.objects.create(), Thread.objects.create()
    ThreadTTL.objects.create(thread=expired, ttl_minutes=1, expires_at=now - timedelta(seconds=1))
    ThreadTTL.objects.create(thread=fresh, ttl_minutes=1, expires_at=now + timedelta(minutes=1))
    assert threads_sweep_expired(batch_size=1) == {"deleted": 1, "pruned": 0, "busy": 0}
    assert list(Thread.objects.values_list("thread_id", flat=True)) == [fresh.pk]
    assert ThreadTTL.objects.count() == 1
