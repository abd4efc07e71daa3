"""Assistant services and selectors: system defaults, versions, resolving a run's assistant."""

from __future__ import annotations

import io
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from assistants.graphs import default_assistant_id
from assistants.models import Assistant, AssistantVersion
from assistants.selectors import assistant_get, assistant_resolve, assistant_search
from assistants.services import (
    assistant_create,
    assistant_delete,
    assistant_ensure_defaults,
    assistant_set_latest,
    assistant_update,
)
from core.errors import Conflict, InvalidInput, NotFound

pytestmark = pytest.mark.django_db

INVALID_ASSISTANT = (
    "Invalid assistant: 'nope'. Must be either:\n"
    "- A valid assistant UUID, or\n"
    "- One of the registered graphs: agent, echo, interruptible"
)


def test_ensure_defaults_creates_one_system_assistant_per_graph() -> None:
    assistant_ensure_defaults()
    assistant_ensure_defaults()

    rows = {a.graph_id: a for a in Assistant.objects.all()}
    assert sorted(rows) == ["agent", "echo", "interruptible"]
    for graph_id, assistant in rows.items():
        assert assistant.assistant_id == default_assistant_id(graph_id)
        assert (assistant.name, assistant.metadata, assistant.version) == (
            graph_id,
            {"created_by": "system"},
            1,
        )
        assert (assistant.config, assistant.context, assistant.description) == ({}, {}, None)
        assert list(assistant.versions.values_list("version", flat=True)) == [1]
    assert AssistantVersion.objects.count() == 3


def test_ensure_defaults_leaves_edited_system_assistants_alone() -> None:
    assistant_ensure_defaults()
    assistant_update(assistant_id=default_assistant_id("agent"), name="renamed")
    assistant_ensure_defaults()
    assert assistant_get(default_assistant_id("agent")).name == "renamed"


@pytest.mark.django_db(transaction=True)
def test_ensure_defaults_is_race_safe_across_connections() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite's in-memory test database locks whole tables across connections")
    errors: list[BaseException] = []
    barrier = threading.Barrier(4)

    def ensure() -> None:
        try:
            barrier.wait()
            assistant_ensure_defaults()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    workers = [threading.Thread(target=ensure) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert Assistant.objects.count() == 3
    assert AssistantVersion.objects.count() == 3


def test_resolve_accepts_a_graph_id_for_its_system_assistant() -> None:
    assistant_ensure_defaults()
    assert assistant_resolve("echo").assistant_id == default_assistant_id("echo")
    assert assistant_resolve(str(default_assistant_id("agent"))).graph_id == "agent"


def test_resolve_rejects_a_name_that_is_neither_uuid_nor_graph() -> None:
    with pytest.raises(InvalidInput) as caught:
        assistant_resolve("nope")
    assert caught.value.status_code == 422
    assert caught.value.detail == INVALID_ASSISTANT


def test_resolve_of_an_unknown_uuid_or_deleted_system_assistant_is_not_found() -> None:
    with pytest.raises(NotFound, match=r"^Thread or assistant not found\.$"):
        assistant_resolve(str(uuid.uuid4()))
    assistant_ensure_defaults()
    assistant_delete(assistant_id=default_assistant_id("echo"))
    with pytest.raises(NotFound, match=r"^Thread or assistant not found\.$"):
        assistant_resolve("echo")


def test_create_copies_configurable_into_context_when_no_context_is_given() -> None:
    made = assistant_create(graph_id="agent", config={"configurable": {"delay": 0}})
    assert made.context == {"delay": 0}
    explicit = assistant_create(
        graph_id="agent", config={"configurable": {"delay": 0}}, context={"x": 1}
    )
    assert explicit.context == {"x": 1}


def test_create_with_an_existing_id_conflicts_or_returns_it() -> None:
    made = assistant_create(graph_id="echo", name="first")
    with pytest.raises(Conflict, match=f"Assistant {made.assistant_id} already exists"):
        assistant_create(graph_id="echo", assistant_id=made.assistant_id)
    same = assistant_create(
        graph_id="agent", assistant_id=made.assistant_id, name="other", if_exists="do_nothing"
    )
    assert (same.assistant_id, same.name, same.graph_id) == (made.assistant_id, "first", "echo")
    assert AssistantVersion.objects.filter(assistant=made).count() == 1


def test_update_bumps_version_merges_metadata_and_keeps_the_rest() -> None:
    made = assistant_create(
        graph_id="agent",
        name="a",
        description="d",
        metadata={"k": 1, "o": 1},
        config={"tags": ["t"]},
    )
    updated = assistant_update(assistant_id=made.assistant_id, metadata={"k": 2, "n": 3})
    assert updated.version == 2
    assert updated.metadata == {"k": 2, "o": 1, "n": 3}
    assert (updated.name, updated.description, updated.config) == ("a", "d", {"tags": ["t"]})
    assert list(updated.versions.values_list("version", flat=True)) == [2, 1]


def test_set_latest_switches_back_and_the_next_update_takes_a_new_number() -> None:
    made = assistant_create(graph_id="agent", name="v1")
    assistant_update(assistant_id=made.assistant_id, name="v2")
    back = assistant_set_latest(assistant_id=made.assistant_id, version=1)
    assert (back.version, back.name) == (1, "v1")
    again = assistant_update(assistant_id=made.assistant_id, description="x")
    assert (again.version, again.name) == (3, "v1")
    with pytest.raises(NotFound):
        assistant_set_latest(assistant_id=made.assistant_id, version=9)


def test_search_sorts_and_pages() -> None:
    for name in ("b", "a", "c"):
        assistant_create(graph_id="echo", name=name)
    newest_first, total = assistant_search(limit=2)
    assert total == 3
    assert [a.name for a in newest_first] == ["c", "a"]
    by_name, _ = assistant_search(sort_by="name", sort_order="asc", offset=1, limit=5)
    assert [a.name for a in by_name] == ["b", "c"]


def test_ensure_assistants_command_creates_the_defaults() -> None:
    out = io.StringIO()
    call_command("ensure_assistants", stdout=out)
    assert out.getvalue() == "System assistants ready for 3 graph(s): agent, echo, interruptible\n"
    assert Assistant.objects.count() == 3


def test_ensure_assistants_command_fails_on_a_broken_registry(
    settings: Any, tmp_path: Path
) -> None:
    settings.LANGGRAPH_CONFIG = str(tmp_path / "missing.json")
    with pytest.raises(CommandError, match=r"Graph registry .*missing\.json not found"):
        call_command("ensure_assistants")
    assert Assistant.objects.count() == 0
