"""The saver's blob cache and its append-only list writes: faster, never different."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from langchain_core.messages import AIMessage, HumanMessage
from langgraph.checkpoint.base import empty_checkpoint

from threads.blob_cache import blob_cache
from threads.checkpointer import LIST_BLOB_TYPE, DjangoSaver
from threads.models import CheckpointBlob

pytestmark = pytest.mark.django_db(transaction=True)


class Writer:
    """Puts successive checkpoints of one thread the way LangGraph does: each one the
    child of the last, with a new version from the saver for every changed channel."""

    def __init__(self, saver: DjangoSaver, thread_id: str) -> None:
        self.saver = saver
        self.config: dict[str, Any] = {
            "configurable": {"thread_id": thread_id, "checkpoint_ns": ""}
        }
        self.versions: dict[str, str] = {}

    def put(self, **values: Any) -> str:
        checkpoint = empty_checkpoint()
        new_versions = {}
        for channel in values:
            new_versions[channel] = self.saver.get_next_version(self.versions.get(channel), None)
        self.versions.update(new_versions)
        checkpoint["channel_values"] = dict(values)
        checkpoint["channel_versions"] = dict(self.versions)
        # RunnableConfig is a dict: self.config keeps the type it was declared with.
        self.config = self.saver.put(
            self.config, checkpoint, {"source": "loop", "step": 0}, new_versions
        )  # type: ignore[assignment]
        return new_versions.get("messages", "")


def read(thread_id: str) -> dict[str, Any]:
    found = DjangoSaver().get_tuple({"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}})
    assert found is not None
    return found.checkpoint["channel_values"]


def test_a_warm_read_equals_a_cold_read_and_skips_the_blob_queries() -> None:
    thread_id = str(uuid.uuid4())
    writer = Writer(DjangoSaver(), thread_id)
    messages = [HumanMessage("hi", id="1")]
    writer.put(messages=messages, count=1)
    messages = [*messages, AIMessage("hello", id="2")]
    writer.put(messages=messages, count=2)

    with CaptureQueriesContext(connection) as warm_queries:
        warm = read(thread_id)
    blob_cache.clear()
    with CaptureQueriesContext(connection) as cold_queries:
        cold = read(thread_id)

    assert warm == cold == {"messages": messages, "count": 2}
    assert not any("threads_checkpointblob" in q["sql"] for q in warm_queries.captured_queries)
    assert any("threads_checkpointblob" in q["sql"] for q in cold_queries.captured_queries)


def test_an_appending_put_stores_only_the_new_messages_on_the_last_version() -> None:
    thread_id = str(uuid.uuid4())
    writer = Writer(DjangoSaver(), thread_id)
    messages = [HumanMessage(f"m{i}", id=str(i)) for i in range(5)]
    first = writer.put(messages=messages)
    with CaptureQueriesContext(connection) as queries:
        second = writer.put(messages=[*messages, AIMessage("m5", id="5")])
    # The saver knew the list it had just written: no lookup of an earlier version.
    assert not any(
        q["sql"].startswith("SELECT version, length, digest") for q in queries.captured_queries
    )

    row = CheckpointBlob.objects.get(thread_id=thread_id, channel="messages", version=second)
    assert (row.type, row.base_version, row.length) == (LIST_BLOB_TYPE, first, 6)
    blob_cache.clear()
    assert [m.content for m in read(thread_id)["messages"]] == [f"m{i}" for i in range(6)]


def test_a_list_put_after_reading_an_empty_thread_looks_up_no_base() -> None:
    thread_id = str(uuid.uuid4())
    writer = Writer(DjangoSaver(), thread_id)
    base_lookups = []
    for read_first in (False, True):
        if read_first:
            # A fresh saver on a new thread, read first as a run's graph does: it
            # learns the thread has no checkpoint, so no earlier list to build on.
            thread_id = str(uuid.uuid4())
            writer = Writer(DjangoSaver(), thread_id)
            assert writer.saver.get_tuple(writer.config) is None
        with CaptureQueriesContext(connection) as queries:
            version = writer.put(messages=[HumanMessage("a", id="a")])
        base_lookups.append(
            any(
                q["sql"].startswith("SELECT version, length, digest")
                for q in queries.captured_queries
            )
        )
        row = CheckpointBlob.objects.get(thread_id=thread_id, channel="messages", version=version)
        assert (row.type, row.base_version, row.length) == (LIST_BLOB_TYPE, None, 1)
    assert base_lookups == [True, False]
    blob_cache.clear()
    assert [m.content for m in read(thread_id)["messages"]] == ["a"]


def test_a_list_that_is_not_an_extension_is_stored_whole() -> None:
    thread_id = str(uuid.uuid4())
    writer = Writer(DjangoSaver(), thread_id)
    writer.put(messages=[HumanMessage("a", id="a"), AIMessage("b", id="b")])
    replaced = writer.put(messages=[HumanMessage("a", id="a"), AIMessage("B", id="b")])

    row = CheckpointBlob.objects.get(thread_id=thread_id, channel="messages", version=replaced)
    assert row.length == 2
    blob_cache.clear()
    assert [m.content for m in read(thread_id)["messages"]] == ["a", "B"]


def test_a_put_rolled_back_with_its_transaction_is_never_built_upon() -> None:
    thread_id = str(uuid.uuid4())
    saver = DjangoSaver()
    writer = Writer(saver, thread_id)
    messages = [HumanMessage("kept", id="1")]
    writer.put(messages=messages)
    committed = dict(writer.config["configurable"])

    lost = AIMessage("lost", id="2")
    with pytest.raises(RuntimeError), transaction.atomic():
        writer.put(messages=[*messages, lost])
        raise RuntimeError("abort")

    # The same message objects again: an extension of the rolled-back list, which
    # must not become the base of the new version.
    writer.config = {"configurable": committed}
    writer.put(messages=[*messages, lost, HumanMessage("again", id="3")])
    blob_cache.clear()
    assert [m.content for m in read(thread_id)["messages"]] == ["kept", "lost", "again"]


def test_a_reused_version_keeps_its_first_value_in_the_cache_too() -> None:
    thread_id = str(uuid.uuid4())
    saver = DjangoSaver()
    version = saver.get_next_version(None, None)
    config: dict[str, Any] = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    for value in ("first", "second"):
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"note": value}
        checkpoint["channel_versions"] = {"note": version}
        saver.put(config, checkpoint, {"source": "loop", "step": 0}, {"note": version})

    assert read(thread_id) == {"note": "first"}
    blob_cache.clear()
    assert read(thread_id) == {"note": "first"}


def test_reading_back_the_version_just_written_reuses_its_items() -> None:
    thread_id = str(uuid.uuid4())
    saver = DjangoSaver()
    writer = Writer(saver, thread_id)
    messages = [HumanMessage("hi", id="1"), AIMessage("hello", id="2")]
    writer.put(messages=messages)

    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    own = saver.get_tuple(config).checkpoint["channel_values"]["messages"]
    other = DjangoSaver().get_tuple(config).checkpoint["channel_values"]["messages"]
    assert own == other == messages
    assert own[0] is messages[0]  # not deserialized again
    assert other[0] is not messages[0]
