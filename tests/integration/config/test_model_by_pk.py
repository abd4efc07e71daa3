"""core.db.sql.model_by_pk reads a row as the ORM would, on PostgreSQL and SQLite alike."""

from __future__ import annotations

import uuid

import pytest
from django.db.models import Model

from assistants.models import Assistant, AssistantVersion
from core.db.sql import model_by_pk
from runs.models import Run
from threads.models import Thread

pytestmark = pytest.mark.django_db


def _fields(instance: Model) -> dict:
    return {
        field.attname: getattr(instance, field.attname)
        for field in type(instance)._meta.concrete_fields
    }


def test_an_assistant_reads_as_the_orm_reads_it() -> None:
    assistant = Assistant.objects.create(
        graph_id="echo",
        name="ünïcode",
        description=None,
        config={"configurable": {"n": 1, "nested": [1, 2.5, None, True]}},
        context={"k": "v"},
        metadata={"owner": "me"},
        version=3,
    )

    found = model_by_pk(Assistant, assistant.pk)

    assert isinstance(found, Assistant) and not found._state.adding
    assert _fields(found) == _fields(Assistant.objects.get(pk=assistant.pk))
    assert isinstance(found.assistant_id, uuid.UUID) and found.created_at.tzinfo is not None


def test_other_models_too_foreign_keys_and_integer_keys_included() -> None:
    thread = Thread.objects.create(metadata={"a": 1})
    assistant = Assistant.objects.create(graph_id="echo")
    run = Run.objects.create(
        thread=thread, assistant_id=assistant.pk, kwargs={"input": {"x": [1]}}, error=None
    )
    version = AssistantVersion.objects.create(
        assistant=assistant, version=1, graph_id="echo", name="v"
    )

    for model, pk in ((Run, run.pk), (Thread, thread.pk), (AssistantVersion, version.pk)):
        assert _fields(model_by_pk(model, pk)) == _fields(model.objects.get(pk=pk))


def test_a_missing_row_is_none() -> None:
    assert model_by_pk(Assistant, uuid.uuid4()) is None
