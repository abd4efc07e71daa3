"""The store through langgraph_sdk against uvicorn and a Celery worker with beat: graphs
and the API share one memory, TTLs are swept, semantic search ranks on PostgreSQL."""

from __future__ import annotations

import asyncio
import time

import pytest

pytestmark = pytest.mark.e2e


async def test_a_graph_reads_what_the_api_wrote_and_the_api_sees_its_writes(client) -> None:
    await client.store.put_item(["memories", "ada"], "profile", {"name": "Ada"})
    thread = await client.threads.create()
    values = await client.runs.wait(thread["thread_id"], "memory", input={"user": "ada"})
    assert values["seen"] == [
        {"profile": {"name": "Ada"}},  # store: BaseStore, sync batch
        "wrote",  # get_store(), async batch
        {"keys": ["from_graph", "profile"]},  # runtime.store, async batch
    ]
    written = await client.store.get_item(["memories", "ada"], "from_graph")
    assert written["value"] == {"note": "written by the graph"}
    found = await client.store.search_items(["memories", "ada"])
    assert [i["key"] for i in found["items"]] == ["from_graph", "profile"]


async def test_a_factory_taking_config_and_runtime_gets_the_store_and_the_context(client) -> None:
    thread = await client.threads.create()
    values = await client.runs.wait(
        thread["thread_id"], "store_factory", input={"user": "bob"}, context={"tenant": "t1"}
    )
    assert values["seen"] == ["recorded"]
    item = await client.store.get_item(["factory", "bob"], "made")
    assert item["value"]["access_context"] == "threads.create_run"
    assert item["value"]["context"] == {"tenant": "t1"}
    assert item["value"]["assistant_id"]
    # Reading the thread's state calls the factory again, for threads.read.
    state = await client.threads.get_state(thread["thread_id"])
    assert state["values"]["seen"] == ["recorded"]
    schemas = await client.assistants.get_schemas("store_factory")
    assert schemas["graph_id"] == "store_factory"


async def test_an_expired_item_is_never_returned_and_beat_sweeps_it(client, stack) -> None:
    await client.store.put_item(["ttl"], "brief", {"v": 1}, ttl=0.005)  # 0.3 s
    await client.store.put_item(["ttl"], "kept", {"v": 2})
    # Reads refresh a TTL by default (refresh_on_read): these must not.
    assert (await client.store.get_item(["ttl"], "brief", refresh_ttl=False))["value"] == {"v": 1}
    deadline = time.monotonic() + 30
    while stack.sql("select count(*) from store_storeitem where key = 'brief'") != [(0,)]:
        assert time.monotonic() < deadline, "beat never swept the expired item"
        await asyncio.sleep(0.2)
    assert await client.store.get_item(["ttl"], "brief") is None
    assert [i["key"] for i in (await client.store.search_items(["ttl"]))["items"]] == ["kept"]


async def test_semantic_search_ranks_the_nearest_item_first_on_postgres(client) -> None:
    await client.store.put_item(["kb"], "travel", {"text": "a train and a plane"})
    await client.store.put_item(["kb"], "weather", {"text": "rain rain and sun"})
    await client.store.put_item(["kb"], "boats", {"text": "boat boat train"})
    found = (await client.store.search_items(["kb"], query="boat train"))["items"]
    assert [i["key"] for i in found] == ["boats", "travel", "weather"]
    assert found[0]["score"] > found[1]["score"] > found[2]["score"]
    rain = await client.store.search_items(["kb"], query="rain", limit=1)
    assert [i["key"] for i in rain["items"]] == ["weather"]
