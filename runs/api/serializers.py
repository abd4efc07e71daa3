"""Input and output shapes of the runs API (output keys match langgraph_sdk.schema.Run)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from config.api import BodySerializer
from config.input_gate import MAX_ID_LENGTH, MAX_OFFSET
from config.webhook_urls import webhook_url_check
from runs.models import CancelAction, MultitaskStrategy, Run

# A run may wait this long before it starts (after_seconds): its due time must stay a date.
MAX_AFTER_SECONDS = 365 * 24 * 3600
STREAM_MODES = ["values", "messages", "messages-tuple", "tasks", "checkpoints", "updates", "events", "debug", "custom"]


class _NodeListField(serializers.Field):
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


class _StreamModeField(serializers.Field):
    default_error_messages = {"invalid": "Must be one of {modes}, or a list of them."}

    def to_internal_value(self, data: Any) -> list[str]:
        modes = [data] if isinstance(data, str) else data
        if isinstance(modes, list) and modes and all(m in STREAM_MODES for m in modes):
            return list(dict.fromkeys(modes))
        self.fail("invalid", modes=", ".join(STREAM_MODES))

    def to_representation(self, value: Any) -> Any:
        return value


class _ObjectField(serializers.JSONField):
    default_error_messages = {"not_object": "Must be an object."}

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, dict):
            self.fail("not_object")
        return super().to_internal_value(data)


class CommandSerializer(serializers.Serializer):
    update = serializers.JSONField(required=False, allow_null=True)
    resume = serializers.JSONField(required=False, allow_null=True)
    goto = serializers.JSONField(required=False, allow_null=True)


class RunCreateInputSerializer(BodySerializer):
    assistant_id = serializers.CharField(max_length=MAX_ID_LENGTH)
    input = serializers.JSONField(required=False, allow_null=True)
    command = CommandSerializer(required=False, allow_null=True)
    config = _ObjectField(required=False, allow_null=True)
    context = _ObjectField(required=False, allow_null=True)
    metadata = _ObjectField(required=False, allow_null=True)
    checkpoint = _ObjectField(required=False, allow_null=True)
    checkpoint_id = serializers.CharField(required=False, allow_null=True, max_length=MAX_ID_LENGTH)
    checkpoint_during = serializers.BooleanField(required=False, allow_null=True)
    interrupt_before = _NodeListField(required=False, allow_null=True)
    interrupt_after = _NodeListField(required=False, allow_null=True)
    stream_mode = _StreamModeField(required=False, allow_null=True)
    stream_subgraphs = serializers.BooleanField(required=False, allow_null=True)
    stream_resumable = serializers.BooleanField(required=False, allow_null=True)
    multitask_strategy = serializers.ChoiceField(choices=MultitaskStrategy.values, required=False, allow_null=True)
    if_not_exists = serializers.ChoiceField(choices=["create", "reject"], required=False, allow_null=True)
    on_disconnect = serializers.ChoiceField(choices=["cancel", "continue"], required=False, allow_null=True)
    on_completion = serializers.ChoiceField(choices=["delete", "keep"], required=False, allow_null=True)
    durability = serializers.ChoiceField(choices=["sync", "async", "exit"], required=False, allow_null=True)
    after_seconds = serializers.FloatField(required=False, allow_null=True, min_value=0, max_value=MAX_AFTER_SECONDS)
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


class RunListInputSerializer(serializers.Serializer):
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0, max_value=MAX_OFFSET)
    status = serializers.CharField(required=False, allow_null=True, max_length=MAX_ID_LENGTH)


class RunCancelInputSerializer(serializers.Serializer):
    wait = serializers.BooleanField(required=False, default=False)
    action = serializers.ChoiceField(choices=CancelAction.values, required=False, default=CancelAction.INTERRUPT)


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
