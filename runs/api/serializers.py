"""Input and output shapes of the runs API (output keys match langgraph_sdk.schema.Run)."""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.http import BodySerializer
from core.input import MAX_ID_LENGTH, MAX_OFFSET
from core.openapi import (
    AnyJsonSchemaField,
    ConfigSerializer,
    ObjectSchemaField,
    SendSerializer,
    raw_component,
    schema_field,
)
from core.webhook_urls import webhook_url_check
from runs.models import CancelAction, MultitaskStrategy, Run

# A run may wait this long before it starts (after_seconds): its due time must stay a date
# (and larger delays overflowed Celery's countdown).
MAX_AFTER_SECONDS = 365 * 24 * 3600
STREAM_MODES = [
    "values",
    "messages",
    "messages-tuple",
    "tasks",
    "checkpoints",
    "updates",
    "events",
    "debug",
    "custom",
]


@extend_schema_field(
    {"anyOf": [{"type": "string", "enum": ["*"]}, {"type": "array", "items": {"type": "string"}}]}
)
class NodeListField(serializers.Field):
    """`"*"` or a list of node names."""

    default_error_messages = {"invalid": 'Must be "*" or a list of node names.'}

    def to_internal_value(self, data: Any) -> Any:
        if data == "*":
            return data
        if isinstance(data, list) and all(
            isinstance(item, str) and len(item) <= MAX_ID_LENGTH for item in data
        ):
            return data
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field(
    {
        "anyOf": [
            {"type": "array", "items": {"type": "string", "enum": STREAM_MODES}},
            {"type": "string", "enum": STREAM_MODES},
        ]
    }
)
class StreamModeField(serializers.Field):
    default_error_messages = {"invalid": "Must be one of {modes}, or a list of them."}

    def to_internal_value(self, data: Any) -> list[str]:
        modes = [data] if isinstance(data, str) else data
        if isinstance(modes, list) and modes and all(m in STREAM_MODES for m in modes):
            return list(dict.fromkeys(modes))
        self.fail("invalid", modes=", ".join(STREAM_MODES))

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_field({"type": "object", "additionalProperties": True})
class ObjectField(serializers.JSONField):
    default_error_messages = {"not_object": "Must be an object."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("not_object")
        return super().to_internal_value(data)


@extend_schema_field(ConfigSerializer)
class _ConfigField(ObjectField):
    """The run's config: {tags, recursion_limit, configurable, ...}."""


@schema_field(
    lambda ref: {
        "anyOf": [
            ref(SendSerializer),
            {"type": "array", "items": ref(SendSerializer)},
            {"type": "string"},
            {"type": "array", "items": {"type": "string"}},
            {"type": "null"},
        ]
    }
)
class _GotoField(serializers.JSONField):
    """Node(s) to go to next, or Send(s) to nodes."""


class CommandSerializer(serializers.Serializer):
    update = AnyJsonSchemaField(required=False, allow_null=True)  # type: ignore[assignment]  # DRF moves declared fields off the class
    resume = AnyJsonSchemaField(required=False, allow_null=True)
    goto = _GotoField(required=False, allow_null=True)


class RunCreateInputSerializer(BodySerializer):
    assistant_id = serializers.CharField(max_length=MAX_ID_LENGTH)
    input = AnyJsonSchemaField(required=False, allow_null=True)
    command = CommandSerializer(required=False, allow_null=True)
    config = _ConfigField(required=False, allow_null=True)
    context = ObjectField(required=False, allow_null=True)  # type: ignore[assignment]  # DRF moves declared fields off the class
    metadata = ObjectField(required=False, allow_null=True)
    checkpoint = ObjectField(required=False, allow_null=True)
    checkpoint_id = serializers.CharField(required=False, allow_null=True, max_length=MAX_ID_LENGTH)
    checkpoint_during = serializers.BooleanField(required=False, allow_null=True)
    interrupt_before = NodeListField(required=False, allow_null=True)
    interrupt_after = NodeListField(required=False, allow_null=True)
    stream_mode = StreamModeField(required=False, allow_null=True)
    stream_subgraphs = serializers.BooleanField(required=False, allow_null=True)
    stream_resumable = serializers.BooleanField(required=False, allow_null=True)
    multitask_strategy = serializers.ChoiceField(
        choices=MultitaskStrategy.values, required=False, allow_null=True
    )
    if_not_exists = serializers.ChoiceField(
        choices=["create", "reject"], required=False, allow_null=True
    )
    on_disconnect = serializers.ChoiceField(
        choices=["cancel", "continue"], required=False, allow_null=True
    )
    on_completion = serializers.ChoiceField(
        choices=["delete", "keep"], required=False, allow_null=True
    )
    durability = serializers.ChoiceField(
        choices=["sync", "async", "exit"], required=False, allow_null=True
    )
    after_seconds = serializers.FloatField(
        required=False, allow_null=True, min_value=0, max_value=MAX_AFTER_SECONDS
    )
    webhook = serializers.CharField(required=False, allow_null=True, max_length=65536)
    feedback_keys = serializers.ListField(
        child=serializers.CharField(max_length=MAX_ID_LENGTH), required=False, allow_null=True
    )

    def validate_webhook(self, value: str | None) -> str | None:
        if value:
            webhook_url_check(value, resolve=False)
        return value

    def validate_command(self, value: dict | None) -> dict | None:
        if value is None:
            return None
        return {k: v for k, v in value.items() if v is not None} or None


# The four bodies the official document names: the same fields, validated by one serializer.
@extend_schema_serializer(component_name="RunCreateStateful")
class RunCreateStatefulSerializer(RunCreateInputSerializer):
    pass


@extend_schema_serializer(component_name="RunCreateStateless")
class RunCreateStatelessSerializer(RunCreateInputSerializer):
    pass


@extend_schema_serializer(component_name="RunCreateStreamingStateful")
class RunCreateStreamingStatefulSerializer(RunCreateInputSerializer):
    pass


@extend_schema_serializer(component_name="RunCreateStreamingStateless")
class RunCreateStreamingStatelessSerializer(RunCreateInputSerializer):
    pass


RunBatchCreateSerializer = raw_component(
    "RunBatchCreate",
    lambda ref: {"type": "array", "items": ref(RunCreateStatelessSerializer), "minItems": 1},
)


class RunListInputSerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)
    status = serializers.CharField(required=False, allow_null=True, max_length=MAX_ID_LENGTH)


class RunCancelInputSerializer(serializers.Serializer):
    wait = serializers.BooleanField(required=False, default=False)
    action = serializers.ChoiceField(
        choices=CancelAction.values, required=False, default=CancelAction.INTERRUPT
    )


class RunBatchInputSerializer(serializers.ListSerializer):
    """POST /runs/batch: a non-empty list of stateless run creates."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("child", RunCreateInputSerializer())
        kwargs.setdefault("allow_empty", False)
        super().__init__(*args, **kwargs)


def _uuid_or_422(value: Any, what: str) -> uuid.UUID:
    try:
        if not isinstance(value, str):
            raise ValueError(value)
        return uuid.UUID(value)
    except ValueError:
        raise serializers.ValidationError(f"Invalid {what} ID: must be a UUID") from None


@extend_schema_field({"type": "string", "format": "uuid"})
class _IdField(serializers.JSONField):
    """An id checked in validate(), with the official texts."""


@extend_schema_serializer(component_name="RunsCancel")
class RunsCancelInputSerializer(serializers.Serializer):
    """POST /runs/cancel: thread_id with run_ids, or a status, or an assistant_id."""

    status = serializers.ChoiceField(
        choices=["pending", "running", "all"], required=False, allow_null=True
    )
    thread_id = _IdField(required=False, allow_null=True)
    run_ids = serializers.ListField(child=_IdField(), required=False, allow_null=True)
    assistant_id = _IdField(required=False, allow_null=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        status, thread_id, run_ids = (
            attrs.get("status"),
            attrs.get("thread_id"),
            attrs.get("run_ids"),
        )
        assistant_id = attrs.get("assistant_id")
        if assistant_id is not None:
            if thread_id is not None or run_ids is not None or status is not None:
                raise serializers.ValidationError(
                    "Cannot specify 'thread_id', 'run_ids', or 'status' when using 'assistant_id'"
                )
            return {"assistant_id": _uuid_or_422(assistant_id, "assistant")}
        if status is not None:
            if thread_id is not None or run_ids is not None:
                raise serializers.ValidationError(
                    "When providing a 'status', 'thread_id' and 'run_ids' must be omitted. The 'status' "
                    "parameter cancels all runs with the given status, regardless of thread or run ID."
                )
            return {"status": status}
        if thread_id is None or run_ids is None:
            raise serializers.ValidationError(
                "Must provide either a status, an assistant_id, or both 'thread_id' and 'run_ids'"
            )
        return {
            "thread_id": _uuid_or_422(thread_id, "thread"),
            "run_ids": [_uuid_or_422(r, "run") for r in run_ids],
        }


class RunsCancelQuerySerializer(serializers.Serializer):
    action = serializers.ChoiceField(
        choices=CancelAction.values, required=False, default=CancelAction.INTERRUPT
    )


@extend_schema_serializer(component_name="Run")
class RunSerializer(serializers.Serializer):
    """Documents run_to_json's output."""

    run_id = serializers.UUIDField()
    thread_id = serializers.UUIDField()
    assistant_id = serializers.UUIDField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    status = serializers.ChoiceField(
        choices=["pending", "running", "error", "success", "timeout", "interrupted"]
    )
    metadata = ObjectSchemaField()
    multitask_strategy = serializers.ChoiceField(choices=MultitaskStrategy.values)
    kwargs = ObjectSchemaField()
    langsmith_session_name = serializers.CharField(allow_null=True, required=False)
    cancel_reason = serializers.CharField(allow_null=True, required=False)


def run_to_json(run: Run) -> dict[str, Any]:
    return {
        "run_id": str(run.run_id),
        "thread_id": str(run.thread_id),
        "assistant_id": str(run.assistant_id),
        "created_at": run.created_at.isoformat(),
        "updated_at": run.updated_at.isoformat(),
        "status": run.status,
        "metadata": run.metadata,
        "multitask_strategy": run.multitask_strategy,
        "kwargs": run.kwargs,
        "langsmith_session_name": None,
        "cancel_reason": run.cancel_action,
    }
