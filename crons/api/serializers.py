"""Input and output shapes of the crons API (output keys match langgraph_sdk.schema.Cron)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.openapi import ObjectSchemaField, selected
from core.webhook_urls import webhook_url_check
from crons.models import Cron, OnRunCompleted
from crons.selectors import SORTABLE, next_run_date
from runs.api.serializers import NodeListField, ObjectField, StreamModeField
from runs.models import MultitaskStrategy

CRON_FIELDS = [
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
]


@extend_schema_field(
    {"anyOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]}
)
class _InputField(serializers.JSONField):
    default_error_messages = {"invalid_input": "Must be an object or a list of objects."}

    def to_internal_value(self, data: Any) -> Any:
        if not (
            isinstance(data, dict)
            or isinstance(data, list)
            and all(isinstance(i, dict) for i in data)
        ):
            self.fail("invalid_input")
        return super().to_internal_value(data)


class _RunFields(serializers.Serializer):
    """The run a cron creates, as on a run create."""

    input = _InputField(required=False, allow_null=True)
    metadata = ObjectField(required=False, allow_null=True)
    config = ObjectField(required=False, allow_null=True)
    context = ObjectField(required=False, allow_null=True)  # type: ignore[assignment]  # DRF moves declared fields off the class
    webhook = serializers.CharField(required=False, allow_null=True, min_length=1, max_length=65536)
    interrupt_before = NodeListField(required=False, allow_null=True)
    interrupt_after = NodeListField(required=False, allow_null=True)
    stream_mode = StreamModeField(required=False, allow_null=True)
    stream_subgraphs = serializers.BooleanField(required=False, allow_null=True)
    stream_resumable = serializers.BooleanField(required=False, allow_null=True)
    durability = serializers.ChoiceField(
        choices=["sync", "async", "exit"], required=False, allow_null=True
    )
    checkpoint_during = serializers.BooleanField(required=False, allow_null=True)
    multitask_strategy = serializers.ChoiceField(
        choices=MultitaskStrategy.values, required=False, allow_null=True
    )
    timezone = serializers.CharField(required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False)

    def validate_webhook(self, value: str | None) -> str | None:
        if value:
            webhook_url_check(value, resolve=False)
        return value


@extend_schema_serializer(component_name="ThreadCronCreate")
class InputThreadCronCreateSerializer(_RunFields):
    """A cron on one thread: each firing runs on that thread, which it keeps."""

    assistant_id = serializers.CharField()
    schedule = serializers.CharField()
    end_time = serializers.DateTimeField(required=False, allow_null=True)


@extend_schema_serializer(component_name="CronCreate")
class InputCronCreateSerializer(InputThreadCronCreateSerializer):
    """A stateless cron: each firing runs on a new thread."""

    on_run_completed = serializers.ChoiceField(
        choices=OnRunCompleted.values, required=False, allow_null=True
    )


@extend_schema_serializer(component_name="CronPatch")
class InputCronPatchSerializer(_RunFields):
    schedule = serializers.CharField(required=False)
    end_time = serializers.DateTimeField(required=False, allow_null=True)
    on_run_completed = serializers.ChoiceField(choices=OnRunCompleted.values, required=False)


@extend_schema_serializer(component_name="CronSearch")
class InputCronSearchSerializer(serializers.Serializer):
    assistant_id = serializers.UUIDField(required=False, allow_null=True)
    thread_id = serializers.UUIDField(required=False, allow_null=True)
    enabled = serializers.BooleanField(required=False, allow_null=True, default=None)
    metadata = ObjectField(required=False, allow_null=True)
    limit = serializers.IntegerField(required=False, default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    sort_by = serializers.ChoiceField(
        choices=[*SORTABLE, "next_run_date"], required=False, default="created_at"
    )
    sort_order = serializers.ChoiceField(choices=["asc", "desc"], required=False, default="desc")
    select = serializers.ListField(
        child=serializers.ChoiceField(choices=CRON_FIELDS), required=False, allow_null=True
    )


@extend_schema_serializer(component_name="CronCountRequest")
class InputCronCountSerializer(serializers.Serializer):
    assistant_id = serializers.UUIDField(required=False, allow_null=True)
    thread_id = serializers.UUIDField(required=False, allow_null=True)
    metadata = ObjectField(required=False, allow_null=True)


@extend_schema_serializer(component_name="Cron")
class CronSerializer(serializers.Serializer):
    """Documents cron_to_json's output."""

    cron_id = serializers.UUIDField()
    assistant_id = serializers.UUIDField()
    thread_id = serializers.UUIDField(allow_null=True)
    on_run_completed = serializers.ChoiceField(choices=OnRunCompleted.values, allow_null=True)
    end_time = serializers.DateTimeField(allow_null=True)
    schedule = serializers.CharField()
    timezone = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    user_id = serializers.CharField(allow_null=True, allow_blank=True)
    payload = ObjectSchemaField()
    next_run_date = serializers.DateTimeField(allow_null=True)
    metadata = ObjectSchemaField()
    enabled = serializers.BooleanField()


SelectedCronSerializer = selected(CronSerializer, "SelectedCron")


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def cron_to_json(cron: Cron, select: list[str] | None = None) -> dict[str, Any]:
    body = {
        "cron_id": str(cron.cron_id),
        "assistant_id": str(cron.assistant_id),
        "thread_id": str(cron.thread_id) if cron.thread_id else None,
        "on_run_completed": cron.on_run_completed,
        "end_time": _iso(cron.end_time),
        "schedule": cron.schedule,
        "timezone": cron.timezone,
        "created_at": _iso(cron.created_at),
        "updated_at": _iso(cron.updated_at),
        # "" without authentication, as the official server shows it.
        "user_id": cron.user_id or "",
        "payload": cron.payload,
        "next_run_date": _iso(next_run_date(cron)),
        "metadata": cron.metadata,
        "enabled": cron.enabled,
    }
    return {k: v for k, v in body.items() if k in select} if select else body
