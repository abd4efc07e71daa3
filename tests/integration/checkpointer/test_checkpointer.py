"""DjangoSaver behaviour the conformance suite does not cover."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from langchain_core.messages import AIMessage, HumanMessage, RemoveMessage
from langgraph.checkpoint.base import CheckpointTuple, empty_checkpoint
from langgraph.checkpoint.serde.types import ERROR
from langgraph.graph.message import add_messages

from runs.models import Run, RunStatus
from tests.factories import make_run
from threads.checkpointer import LIST_BLOB_TYPE, DjangoSaver
from threads.checkpointer import reads as checkpointer_reads
from threads.models import Checkpoint, CheckpointBlob, CheckpointWrite, Thread

pytestmark = pytest.mark.django_db(transaction=True)


def put(
    saver: DjangoSaver,
    thread_id: str,
    values: dict[str, Any],
    *,
    parent: dict | None = None,
    ns: str = "",
    run_id: str | None = None,
    metadata: dict | None = None,
    config_metadata: dict | None = None,
) -> dict:
    """Put a checkpoint whose changed channels are those in `values` (None removes one)."""
    previous: dict[str, Any] = {}
    if parent is not None:
        parent_tuple = saver.get_tuple(parent)
        assert parent_tuple is not None
        previous = dict(parent_tuple.checkpoint["channel_versions"])
    checkpoint = empty_checkpoint()
    new_versions = {
        channel: saver.get_next_version(previous.get(channel), None)
        for channel, value in values.items()
        if value is not None
    }
    versions = {**previous, **new_versions}
    for channel, value in values.items():
        if value is None:
            versions.pop(channel, None)
    checkpoint["channel_versions"] = versions
    stored_values = dict(parent_tuple.checkpoint["channel_values"]) if parent is not None else {}
    stored_values.update({k: v for k, v in values.items() if v is not None})
    checkpoint["channel_values"] = {k: v for k, v in stored_values.items() if k in versions}
    configurable: dict[str, Any] = {"thread_id": thread_id, "checkpoint_ns": ns}
    if parent is not None:
        configurable["checkpoint_id"] = parent["configurable"]["checkpoint_id"]
    if run_id is not None:
        configurable["run_id"] = run_id
    config: dict[str, Any] = {"configurable": configurable}
    if config_metadata is not None:
        config["metadata"] = config_metadata
    return saver.put(
        config, checkpoint, metadata or {"source": "loop", "step": 0, "parents": {}}, new_versions
    )


def values_of(saver: DjangoSaver, config: dict) -> dict[str, Any]:
    found = saver.get_tuple(config)
    assert found is not None
    return found.checkpoint["channel_values"]


def comparable(item: CheckpointTuple) -> tuple:
    return (
        item.config,
        item.checkpoint,
        item.metadata,
        item.parent_config,
        item.pending_writes,
    )


def blob(thread_id: str, channel: str, config: dict, saver: DjangoSaver) -> CheckpointBlob:
    found = saver.get_tuple(config)
    assert found is not None
    version = str(found.checkpoint["channel_versions"][channel])
    return CheckpointBlob.objects.get(thread_id=thread_id, channel=channel, version=version)


def messages(*texts: str) -> list:
    return [HumanMessage(text, id=text) for text in texts]


async def test_async_and_sync_methods_give_the_same_results() -> None:
    from asgiref.sync import sync_to_async

    saver = DjangoSaver()
    thread_id = str(uuid.uuid4())

    def populate() -> dict:
        parent = None
        for step in range(5):
            for ns in ("", "child:1"):
                config = put(
                    saver,
                    thread_id,
                    {"messages": messages(*[f"m{i}" for i in range(step + 1)]), "step": step},
                    parent=parent if ns == "" else None,
                    ns=ns,
                    metadata={
                        "source": "loop" if step % 2 else "input",
                        "step": step,
                        "parents": {},
                    },
                )
                if ns == "":
                    parent = config
                saver.put_writes(
                    config, [("messages", [AIMessage("w")]), (ERROR, "boom")], f"task-{step}"
                )
        return parent

    latest = await sync_to_async(populate)()
    thread = {"configurable": {"thread_id": thread_id}}
    root = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    queries: list[tuple[dict, dict[str, Any]]] = [
        (thread, {}),
        (root, {}),
        (root, {"filter": {"source": "input"}}),
        (root, {"limit": 2}),
        (root, {"before": latest, "limit": 3}),
        (thread, {"filter": {"step": 3}}),
        (thread, {"filter": {"parents": {}}, "limit": 7}),
    ]
    for config, kwargs in queries:
        sync_items = await sync_to_async(lambda c=config, k=kwargs: list(saver.list(c, **k)))()
        async_items = [item async for item in saver.alist(config, **kwargs)]
        assert [comparable(i) for i in sync_items] == [comparable(i) for i in async_items], kwargs
        assert sync_items, kwargs
    sync_latest = await sync_to_async(saver.get_tuple)(root)
    async_latest = await saver.aget_tuple(root)
    assert sync_latest is not None and async_latest is not None
    assert comparable(sync_latest) == comparable(async_latest)
    assert [m.content for m in async_latest.checkpoint["channel_values"]["messages"]] == [
        "m0",
        "m1",
        "m2",
        "m3",
        "m4",
    ]
    assert [(w[1], w[2]) for w in async_latest.pending_writes] == [
        (ERROR, "boom"),
        ("messages", [AIMessage("w")]),
    ]


def test_delete_for_runs_keeps_blobs_a_surviving_checkpoint_references() -> None:
    saver = DjangoSaver()
    thread_id = str(uuid.uuid4())
    run_a, run_b = str(uuid.uuid4()), str(uuid.uuid4())
    first = put(
        saver,
        thread_id,
        {"topic": "weather", "notes": "a", "messages": messages("m1")},
        run_id=run_a,
    )
    second = put(
        saver,
        thread_id,
        {"notes": "b", "messages": messages("m1", "m2")},
        parent=first,
        run_id=run_b,
    )
    assert blob(thread_id, "messages", second, saver).base_version is not None

    saver.delete_for_runs([run_a])

    assert saver.get_tuple(first) is None
    assert values_of(saver, second) == {
        "topic": "weather",
        "notes": "b",
        "messages": messages("m1", "m2"),
    }
    remaining = set(
        CheckpointBlob.objects.filter(thread_id=thread_id).values_list("channel", "run_id")
    )
    assert remaining == {
        ("topic", run_a),
        ("messages", run_a),
        ("notes", run_b),
        ("messages", run_b),
    }


def test_delete_for_runs_releases_the_blobs_it_keeps_from_their_run() -> None:
    thread = Thread.objects.create()
    run_a = make_run(thread, status=RunStatus.SUCCESS)
    run_b = make_run(thread, status=RunStatus.SUCCESS)
    saver = DjangoSaver(bind_runs=True)
    thread_id = str(thread.pk)
    first = put(saver, thread_id, {"topic": "weather", "notes": "a"}, run_id=str(run_a.pk))
    second = put(saver, thread_id, {"notes": "b"}, parent=first, run_id=str(run_b.pk))
    # Reusing run A's blob already released it.
    assert blob(thread_id, "topic", second, saver).owner_run_id is None

    saver.delete_for_runs([str(run_a.pk)])
    Run.objects.filter(pk=run_a.pk).delete()

    assert values_of(saver, second) == {"topic": "weather", "notes": "b"}
    assert not CheckpointBlob.objects.filter(owner_run=run_a).exists()


def releases(captured: CaptureQueriesContext) -> int:
    """How many statements released blobs from their run (`owner_run_id = NULL`)."""
    return sum("owner_run_id = NULL" in query["sql"] for query in captured.captured_queries)


def test_a_run_releases_what_it_reuses_from_earlier_runs_once() -> None:
    thread = Thread.objects.create()
    run_a = make_run(thread, status=RunStatus.SUCCESS)
    run_b = make_run(thread, status=RunStatus.SUCCESS)
    thread_id = str(thread.pk)
    first = put(
        DjangoSaver(bind_runs=True),
        thread_id,
        {"topic": "weather", "notes": "a", "messages": messages("m1")},
        run_id=str(run_a.pk),
    )
    saver = DjangoSaver(bind_runs=True)  # run B's, as each run has its own
    with CaptureQueriesContext(connection) as first_put:
        second = put(saver, thread_id, {"notes": "b"}, parent=first, run_id=str(run_b.pk))
    with CaptureQueriesContext(connection) as later_puts:
        third = put(saver, thread_id, {"notes": "c"}, parent=second, run_id=str(run_b.pk))
        fourth = put(
            saver,
            thread_id,
            {"notes": "d", "messages": messages("m1", "m2")},
            parent=third,
            run_id=str(run_b.pk),
        )

    # Run B's first put released run A's blobs it reuses; its later puts reuse only those
    # and run B's own blobs, which no other run owns: nothing is left to release.
    assert releases(first_put) == 1
    assert releases(later_puts) == 0
    owners = dict(
        CheckpointBlob.objects.filter(thread_id=thread_id)
        .values_list("channel", "owner_run_id")
        .filter(channel__in=["topic", "messages"], run_id=str(run_a.pk))
    )
    assert owners == {"topic": None, "messages": None}
    assert blob(thread_id, "notes", third, saver).owner_run_id == run_b.pk
    # Rolling run B back leaves run A's checkpoint whole.
    saver.delete_for_runs([str(run_b.pk)])
    Run.objects.filter(pk=run_b.pk).delete()
    assert values_of(saver, first) == {
        "topic": "weather",
        "notes": "a",
        "messages": messages("m1"),
    }
    assert saver.get_tuple(fourth) is None


def test_a_put_without_new_blobs_releases_in_the_callers_transaction() -> None:
    # update_state with no values: a checkpoint that only reuses another run's blobs,
    # written inside the caller's transaction (its first statement returns no rows).
    thread = Thread.objects.create()
    run_a = make_run(thread, status=RunStatus.SUCCESS)
    run_b = make_run(thread, status=RunStatus.SUCCESS)
    thread_id = str(thread.pk)
    first = put(DjangoSaver(bind_runs=True), thread_id, {"topic": "weather"}, run_id=str(run_a.pk))
    saver = DjangoSaver(bind_runs=True)
    with transaction.atomic():
        second = put(saver, thread_id, {}, parent=first, run_id=str(run_b.pk))
    assert values_of(saver, second) == {"topic": "weather"}
    assert blob(thread_id, "topic", second, saver).owner_run_id is None
    # Released once: the next put of the run sends no release.
    with CaptureQueriesContext(connection) as captured, transaction.atomic():
        put(saver, thread_id, {}, parent=second, run_id=str(run_b.pk))
    assert releases(captured) == 0


def test_list_filters_nested_metadata_values_by_containment() -> None:
    saver = DjangoSaver()
    thread_id = str(uuid.uuid4())
    put(
        saver,
        thread_id,
        {"x": 1},
        config_metadata={
            "tags": ["a", "b"],
            "owner": {"team": "core", "id": 7},
            "flag": True,
            "n": 1,
        },
    )
    put(saver, thread_id, {"x": 2}, config_metadata={"tags": ["c"], "flag": False, "n": 2})
    config = {"configurable": {"thread_id": thread_id}}

    def matching(filter: dict[str, Any]) -> list[Any]:
        return [item.metadata.get("n") for item in saver.list(config, filter=filter)]

    assert matching({"tags": ["b"]}) == [1]
    assert matching({"owner": {"team": "core"}}) == [1]
    assert matching({"flag": False}) == [2]
    assert matching({"flag": True, "n": 1}) == [1]
    assert matching({"n": True}) == []
    assert matching({"tags": ["a", "c"]}) == []
    assert matching({"missing": None}) == []
    assert matching(
        {"n": 2},
    ) == [2]


def test_metadata_keeps_config_metadata_and_records_the_run_and_thread() -> None:
    saver = DjangoSaver()
    thread_id, run_id = str(uuid.uuid4()), str(uuid.uuid4())
    config = put(
        saver,
        thread_id,
        {"x": 1},
        run_id=run_id,
        config_metadata={"graph_id": "agent", "tags": ["a"], "thread_id": "ignored"},
    )
    found = saver.get_tuple(config)
    assert found is not None
    assert found.metadata["graph_id"] == "agent"
    assert found.metadata["tags"] == ["a"]
    assert found.metadata["run_id"] == run_id
    # Asked for, the thread is the checkpoint's own, never what the metadata claimed.
    assert found.metadata["thread_id"] == thread_id
    assert Checkpoint.objects.get(thread_id=thread_id).run_id == run_id


def test_appended_lists_are_stored_as_deltas_and_read_back_whole() -> None:
    saver = DjangoSaver()
    thread_id = str(uuid.uuid4())
    one = put(saver, thread_id, {"messages": messages("m1", "m2")})
    two = put(saver, thread_id, {"messages": messages("m1", "m2", "m3")}, parent=one)
    trimmed = add_messages(messages("m1", "m2", "m3"), [RemoveMessage(id="m2")])
    three = put(saver, thread_id, {"messages": trimmed}, parent=two)
    four = put(saver, thread_id, {"messages": [*trimmed, *messages("m4")]}, parent=three)
    fork = put(saver, thread_id, {"messages": messages("m1", "m2", "m3", "f")}, parent=two)

    rows = {
        name: blob(thread_id, "messages", cfg, saver)
        for name, cfg in {
            "one": one,
            "two": two,
            "three": three,
            "four": four,
            "fork": fork,
        }.items()
    }
    assert all(row.type == LIST_BLOB_TYPE for row in rows.values())
    assert rows["one"].base_version is None
    assert rows["two"].base_version == rows["one"].version
    assert rows["three"].base_version is None
    assert rows["four"].base_version == rows["three"].version
    expected = {
        "one": ["m1", "m2"],
        "two": ["m1", "m2", "m3"],
        "three": ["m1", "m3"],
        "four": ["m1", "m3", "m4"],
        "fork": ["m1", "m2", "m3", "f"],
    }
    for name, cfg in {"one": one, "two": two, "three": three, "four": four, "fork": fork}.items():
        assert [m.content for m in values_of(saver, cfg)["messages"]] == expected[name], name
    listed = {
        item.config["configurable"]["checkpoint_id"]: [
            m.content for m in item.checkpoint["channel_values"]["messages"]
        ]
        for item in saver.list({"configurable": {"thread_id": thread_id}})
    }
    assert listed == {
        cfg["configurable"]["checkpoint_id"]: expected[name]
        for name, cfg in {
            "one": one,
            "two": two,
            "three": three,
            "four": four,
            "fork": fork,
        }.items()
    }


def test_long_delta_chains_are_read_across_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(checkpointer_reads, "CHAIN_PAGE", 2)
    saver = DjangoSaver()
    thread_id = str(uuid.uuid4())
    config = put(saver, thread_id, {"messages": messages("m0"), "other": []})
    for i in range(1, 8):
        config = put(
            saver,
            thread_id,
            {"messages": messages(*[f"m{j}" for j in range(i + 1)])},
            parent=config,
        )
    assert (
        CheckpointBlob.objects.filter(thread_id=thread_id, base_version__isnull=False).count() == 7
    )
    assert [m.content for m in values_of(saver, config)["messages"]] == [f"m{j}" for j in range(8)]


def test_prune_keep_latest_rewrites_kept_deltas_in_full() -> None:
    saver = DjangoSaver()
    thread_id = str(uuid.uuid4())
    config = put(saver, thread_id, {"messages": messages("m1"), "topic": "t"})
    saver.put_writes(config, [("messages", messages("x"))], "old-task")
    for i in range(2, 5):
        config = put(
            saver,
            thread_id,
            {"messages": messages(*[f"m{j}" for j in range(1, i + 1)])},
            parent=config,
        )
    saver.put_writes(config, [("messages", messages("y"))], "new-task")

    saver.prune([thread_id], strategy="keep_latest")

    assert Checkpoint.objects.filter(thread_id=thread_id).count() == 1
    kept = blob(thread_id, "messages", config, saver)
    assert kept.base_version is None
    assert CheckpointBlob.objects.filter(thread_id=thread_id).count() == 2
    assert list(
        CheckpointWrite.objects.filter(thread_id=thread_id).values_list("task_id", flat=True)
    ) == ["new-task"]
    assert [m.content for m in values_of(saver, config)["messages"]] == ["m1", "m2", "m3", "m4"]
    assert values_of(saver, config)["topic"] == "t"


def test_copy_thread_copies_are_bound_to_no_run() -> None:
    thread = Thread.objects.create()
    run = make_run(thread, status=RunStatus.SUCCESS)
    saver = DjangoSaver(bind_runs=True)
    source = str(thread.pk)
    config = put(saver, source, {"messages": messages("m1")}, run_id=str(run.pk))
    config = put(
        saver, source, {"messages": messages("m1", "m2")}, parent=config, run_id=str(run.pk)
    )
    saver.put_writes(
        config,
        [("messages", messages("w"))],
        "task",
    )
    target = str(uuid.uuid4())

    saver.copy_thread(source, target)
    Run.objects.filter(pk=run.pk).delete()

    assert not Checkpoint.objects.filter(thread_id=source).exists()
    for model in (Checkpoint, CheckpointBlob, CheckpointWrite):
        copies = model.objects.filter(thread_id=target)
        assert copies.exists()
        assert set(copies.values_list("run_id", "owner_run_id", "owner_thread_id")) == {
            (None, None, None)
        }
    copied = saver.get_tuple({"configurable": {"thread_id": target, "checkpoint_ns": ""}})
    assert copied is not None
    assert copied.metadata["run_id"] == str(run.pk)
    assert [m.content for m in copied.checkpoint["channel_values"]["messages"]] == ["m1", "m2"]
    assert [w[2][0].content for w in copied.pending_writes] == ["w"]


def test_special_writes_replace_earlier_ones_and_regular_writes_do_not() -> None:
    saver = DjangoSaver()
    config = put(saver, str(uuid.uuid4()), {"x": 1})
    saver.put_writes(config, [("ch", "first")], "task")
    saver.put_writes(config, [("ch", "second")], "task")
    saver.put_writes(config, [(ERROR, "first error")], "task")
    saver.put_writes(config, [(ERROR, "second error")], "task")
    found = saver.get_tuple(config)
    assert found is not None
    assert found.pending_writes == [("task", ERROR, "second error"), ("task", "ch", "first")]


def test_next_versions_increase_and_never_repeat() -> None:
    saver = DjangoSaver()
    first = saver.get_next_version(None, None)
    second = saver.get_next_version(first, None)
    forked = saver.get_next_version(first, None)
    assert first < second
    assert second != forked
    assert second.split(".")[0] == forked.split(".")[0]
    assert saver.get_next_version(41, None).split(".")[0] == f"{42:032d}"
