"""The run-create body serializer copies only the fields a body names; its results and
errors are those of a plain DRF serializer with the same fields."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from runs.api.serializers import RunCreateInputSerializer


class PlainRunCreateInput(RunCreateInputSerializer):
    """The same declared fields and hooks, with DRF's own get_fields."""

    get_fields = serializers.Serializer.get_fields


BODIES: list[Any] = [
    {"assistant_id": "echo"},
    {"assistant_id": "echo", "input": {"messages": [{"role": "human", "content": "hi"}]}},
    {
        "assistant_id": "echo",
        "input": None,
        "config": {"configurable": {"x": 1}},
        "metadata": {"a": 1},
        "stream_mode": ["values", "updates"],
        "multitask_strategy": "rollback",
        "if_not_exists": "create",
        "interrupt_before": "*",
        "after_seconds": 1.5,
        "feedback_keys": ["k"],
        "durability": "sync",
    },
    {"assistant_id": "echo", "command": {"resume": "yes", "update": None}},
    {"assistant_id": "echo", "unknown_key": 1},
    {},
    {"input": {}},
    {"assistant_id": 5, "multitask_strategy": "sometimes"},
    {"assistant_id": "echo", "config": [1], "after_seconds": -1, "stream_mode": "nope"},
    {"assistant_id": "echo", "feedback_keys": "k", "command": "resume"},
    [],
    "text",
    None,
]


@pytest.mark.parametrize("body", BODIES)
def test_the_same_result_and_errors_as_a_plain_serializer(body: Any) -> None:
    sparse, plain = RunCreateInputSerializer(data=body), PlainRunCreateInput(data=body)

    assert sparse.is_valid() == plain.is_valid()
    assert sparse.errors == plain.errors
    if not plain.errors:
        assert dict(sparse.validated_data) == dict(plain.validated_data)


def test_only_the_named_fields_are_made() -> None:
    serializer = RunCreateInputSerializer(data={"assistant_id": "echo", "input": {}})

    assert set(serializer.fields) == {"assistant_id", "input"}
    assert (
        len(PlainRunCreateInput(data={}).fields)
        == len(RunCreateInputSerializer._declared_fields)
        > 20
    )


def test_fields_with_defaults_are_made_when_the_body_leaves_them_out() -> None:
    from core.http import BodySerializer

    class WithDefault(BodySerializer):
        limit = serializers.IntegerField(default=10)
        name = serializers.CharField(required=False)

    serializer = WithDefault(data={})

    assert serializer.is_valid() and dict(serializer.validated_data) == {"limit": 10}
