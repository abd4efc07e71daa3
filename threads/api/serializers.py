"""Input and output serializers of the threads API (shapes of langgraph_sdk.schema)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from core.input import MAX_ID_LENGTH, MAX_OFFSET
from core.openapi import (
    AnyJsonSchemaField,
    CheckpointConfigSerializer,
    InterruptSerializer,
    NullableObjectSchemaField,
    ObjectSchemaField,
    selected,
)
from threads.models import Thread, ThreadStatus
from threads.selectors import SORT_FIELDS

SELECT_FIELDS = (
    "thread_id",
    "created_at",
    "updated_at",
    "state_updated_at",
    "metadata",
    "config",
    "status",
    "values",
    "interrupts",
    "error",
)
MAX_LIMIT = 1000
MAX_EXTRACT = 10
_EXTRACT_PATH = re.compile(r"^(values|metadata|config|interrupts)(\.[^.\[\]]+|\[-?\d+\])*$")
_EXTRACT_STEP = re.compile(r"\.([^.\[\]]+)|\[(-?\d+)\]")


@extend_schema_field({"type": "string", "format": "date-time"})
class IsoDateTimeField(serializers.Field):
    """ISO-8601 with "+00:00", as the official server writes it (DRF would write "Z")."""

    def to_representation(self, value: datetime.datetime) -> str:
        return value.astimezone(datetime.UTC).isoformat()


class StrictCharField(serializers.CharField):
    """A JSON string: DRF would also turn a number into one."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class StrictUUIDField(serializers.UUIDField):
    """A UUID given as a string: DRF would also take an integer as UUID(int=...)."""

    def to_internal_value(self, data: Any) -> Any:
        if not isinstance(data, str):
            self.fail("invalid", value=data)
        return super().to_internal_value(data)


@extend_schema_field({"type": "object", "additionalProperties": True})
class JsonObjectField(serializers.DictField):
    """A JSON object of any values (null included); null itself is read as absent."""

    child = serializers.JSONField(allow_null=True)

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("required", False)
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "string"},
            {"$ref": "#/components/schemas/CheckpointConfig"},
            {"type": "null"},
        ]
    }
)
class CheckpointOrIdField(serializers.JSONField):
    """A checkpoint as a client may name it: its id, or an object holding `checkpoint_id`."""

    def to_internal_value(self, data: Any) -> Any:
        if data is not None and not isinstance(data, str | dict):
            raise serializers.ValidationError("Must be a checkpoint id or a checkpoint object.")
        return data


@extend_schema_field(
    {
        "anyOf": [
            {"type": "array", "items": {"type": "object"}},
            {"type": "object"},
            {"type": "null"},
        ]
    }
)
class StateValuesField(serializers.JSONField):
    """The values of a state update: an object, a list of objects, or null."""

    def to_internal_value(self, data: Any) -> Any:
        if data is not None and not isinstance(data, dict | list):
            raise serializers.ValidationError("Must be an object, a list or null.")
        return data


@extend_schema_field({"$ref": "#/components/schemas/CheckpointConfig"})
class CheckpointConfigField(serializers.DictField):
    child = serializers.JSONField(allow_null=True)


@extend_schema_serializer(component_name="ThreadSuperstepUpdate")
class ThreadSuperstepUpdateSerializer(serializers.Serializer):
    values = StateValuesField(required=False)
    command = NullableObjectSchemaField(required=False)
    as_node = serializers.CharField()


class ThreadSuperstepSerializer(serializers.Serializer):
    updates = ThreadSuperstepUpdateSerializer(many=True)


@extend_schema_field(ThreadSuperstepSerializer(many=True))
class SuperstepsField(serializers.ListField):
    """Documents supersteps as lists of ThreadSuperstepUpdate."""


# --- input ------------------------------------------------------------------------


@extend_schema_serializer(component_name="ThreadCreate")
class InputThreadCreateSerializer(serializers.Serializer):
    thread_id = StrictUUIDField(required=False, allow_null=True)
    metadata = JsonObjectField()
    if_exists = serializers.ChoiceField(choices=["raise", "do_nothing"], default="raise")
    supersteps = SuperstepsField(child=serializers.DictField(), required=False, allow_null=True)
    # {"ttl": minutes, "strategy": "delete" | "keep_latest"}: checked by thread_ttl_parse.
    ttl = serializers.JSONField(required=False, allow_null=True)

    def validate_supersteps(
        self, value: list[dict[str, Any]] | None
    ) -> list[dict[str, Any]] | None:
        for index, superstep in enumerate(value or []):
            updates = superstep.get("updates")
            if not isinstance(updates, list) or not all(isinstance(u, dict) for u in updates):
                raise serializers.ValidationError(
                    f"Item {index}: 'updates' must be a list of objects."
                )
            for update in updates:
                if "as_node" in update and not isinstance(update["as_node"], str | None):
                    raise serializers.ValidationError(f"Item {index}: 'as_node' must be a string.")
        return value


@extend_schema_serializer(component_name="ThreadPatch")
class InputThreadPatchSerializer(serializers.Serializer):
    metadata = JsonObjectField()
    ttl = serializers.JSONField(required=False, allow_null=True)


@extend_schema_serializer(component_name="ThreadCountRequest")
class InputThreadCountSerializer(serializers.Serializer):
    metadata = JsonObjectField()
    values = JsonObjectField()
    status = serializers.ChoiceField(choices=ThreadStatus.choices, required=False, allow_null=True)


@extend_schema_serializer(component_name="ThreadSearchRequest")
class InputThreadSearchSerializer(InputThreadCountSerializer):
    ids = serializers.ListField(child=StrictUUIDField(), required=False, allow_null=True)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    offset = serializers.IntegerField(min_value=0, default=0, max_value=MAX_OFFSET)
    sort_by = serializers.ChoiceField(choices=SORT_FIELDS, required=False, allow_null=True)
    sort_order = serializers.ChoiceField(choices=["asc", "desc"], required=False, allow_null=True)
    select = serializers.ListField(
        child=serializers.ChoiceField(choices=SELECT_FIELDS), required=False, allow_null=True
    )
    extract = serializers.DictField(child=StrictCharField(), required=False, allow_null=True)

    def validate_extract(self, value: dict[str, str] | None) -> dict[str, str] | None:
        if value and len(value) > MAX_EXTRACT:
            raise serializers.ValidationError(f"At most {MAX_EXTRACT} paths.")
        for alias, path in (value or {}).items():
            if not _EXTRACT_PATH.match(path):
                raise serializers.ValidationError(
                    f"{alias}: {path!r} is not a path like 'values.messages[-1]' starting with "
                    "values, metadata, config or interrupts."
                )
        return value


@extend_schema_serializer(component_name="ThreadPruneRequest")
class InputThreadPruneSerializer(serializers.Serializer):
    thread_ids = serializers.ListField(child=StrictUUIDField())
    strategy = serializers.ChoiceField(choices=["delete", "keep_latest"], default="delete")


@extend_schema_serializer(component_name="ThreadStateUpdate")
class InputThreadStateUpdateSerializer(serializers.Serializer):
    values = StateValuesField(required=False, allow_null=True, default=None)
    as_node = StrictCharField(required=False, allow_null=True, max_length=MAX_ID_LENGTH)
    checkpoint_id = StrictCharField(
        required=False, allow_null=True, allow_blank=True, max_length=MAX_ID_LENGTH
    )
    checkpoint = JsonObjectField()


@extend_schema_serializer(component_name="ThreadStateCheckpointRequest")
class InputThreadStateCheckpointSerializer(serializers.Serializer):
    checkpoint = CheckpointConfigField()
    subgraphs = serializers.BooleanField(required=False, default=False)


@extend_schema_serializer(component_name="ThreadStateSearch")
class InputThreadHistorySerializer(serializers.Serializer):
    # The official raw endpoints default to 1 item; the SDK (and its OpenAPI) say 10.
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    before = CheckpointOrIdField(required=False, allow_null=True)
    metadata = JsonObjectField()
    checkpoint = JsonObjectField()


class InputThreadHistoryQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=10)
    before = serializers.CharField(required=False, allow_blank=True, max_length=MAX_ID_LENGTH)


class InputThreadStateQuerySerializer(serializers.Serializer):
    subgraphs = serializers.BooleanField(required=False, default=False)


# --- output -----------------------------------------------------------------------


@extend_schema_serializer(component_name="Thread")
class OutputThreadSerializer(serializers.Serializer):
    thread_id = serializers.UUIDField()
    created_at = IsoDateTimeField()
    updated_at = IsoDateTimeField()
    state_updated_at = IsoDateTimeField()
    metadata = ObjectSchemaField()
    status = serializers.ChoiceField(choices=ThreadStatus.choices)
    config = ObjectSchemaField()
    values = AnyJsonSchemaField(required=False)
    # Present once the thread's state was written (thread_to_json), as officially.
    interrupts = ObjectSchemaField(required=False)
    error = NullableObjectSchemaField(required=False)


SelectedThreadSerializer = selected(OutputThreadSerializer, "SelectedThread")


# --- documentation only: shapes the selectors and services build as plain dicts -----


class ThreadTaskSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    path = serializers.ListField(child=AnyJsonSchemaField(), required=False)
    error = AnyJsonSchemaField(required=False)
    interrupts = InterruptSerializer(many=True)
    checkpoint = CheckpointConfigSerializer(allow_null=True)
    state = NullableObjectSchemaField(required=False)
    result = AnyJsonSchemaField(required=False)


@extend_schema_serializer(component_name="ThreadState")
class ThreadStateSerializer(serializers.Serializer):
    values = AnyJsonSchemaField()
    next = serializers.ListField(child=serializers.CharField())
    tasks = ThreadTaskSerializer(many=True)
    checkpoint = CheckpointConfigSerializer(allow_null=True)
    metadata = NullableObjectSchemaField()
    created_at = serializers.CharField(allow_null=True)
    parent_checkpoint = CheckpointConfigSerializer(allow_null=True)
    interrupts = InterruptSerializer(many=True)
    checkpoint_id = serializers.CharField(allow_null=True, required=False)
    parent_checkpoint_id = serializers.CharField(allow_null=True, required=False)


class ThreadStateUpdateResponseSerializer(serializers.Serializer):
    checkpoint = ObjectSchemaField()
    configurable = ObjectSchemaField(required=False)
    checkpoint_id = serializers.CharField(allow_null=True, required=False)


class ThreadPruneResponseSerializer(serializers.Serializer):
    pruned_count = serializers.IntegerField()


class ThreadStorageSectionSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    bytes = serializers.IntegerField()


class ThreadStorageChannelSerializer(serializers.Serializer):
    versions = serializers.IntegerField()
    bytes = serializers.IntegerField()


class ThreadStorageChannelValuesSerializer(ThreadStorageSectionSerializer):
    by_channel = serializers.DictField(child=ThreadStorageChannelSerializer())


class ThreadStorageSerializer(serializers.Serializer):
    thread_id = serializers.UUIDField()
    total_bytes = serializers.IntegerField()
    checkpoints = ThreadStorageSectionSerializer()
    channel_values = ThreadStorageChannelValuesSerializer()
    pending_writes = ThreadStorageSectionSerializer()


def extract_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at a validated path such as "values.messages[-1].content"; None when absent."""
    root = path.split(".", 1)[0].split("[", 1)[0]
    value: Any = data.get(root)
    for key, index in _EXTRACT_STEP.findall(path[len(root) :]):
        if key and isinstance(value, Mapping):
            value = value.get(key)
        elif index and isinstance(value, list) and -len(value) <= int(index) < len(value):
            value = value[int(index)]
        else:
            return None
    return value


# Keys the official server adds to a thread once a run (or a state update) wrote its state.
STATE_WRITTEN_KEYS = ("interrupts", "error")


def _state_written(thread: Thread) -> bool:
    return thread.error is not None or thread.state_updated_at > thread.created_at


def thread_to_json(
    thread: Thread,
    *,
    select: list[str] | None = None,
    extract: Mapping[str, str] | None = None,
    copy: bool = False,
) -> dict[str, Any]:
    """A thread with the official server's keys: `interrupts` and `error` appear once its
    state was written, and a copy is answered without `values`."""
    data = dict(OutputThreadSerializer(thread).data)
    if select:
        out = {key: data[key] for key in SELECT_FIELDS if key in select}
    else:
        out = data
        if not _state_written(thread):
            for key in STATE_WRITTEN_KEYS:
                del out[key]
        if copy:
            del out["values"]
    if extract:
        out["extracted"] = {alias: extract_path(data, path) for alias, path in extract.items()}
    return out
