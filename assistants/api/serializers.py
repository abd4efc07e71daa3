"""Input and output serializers of the assistants API (shapes of langgraph_sdk.schema)."""

from __future__ import annotations

import datetime
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from rest_framework import serializers

from assistants.selectors import SORT_FIELDS, SORT_ORDERS
from core.input import MAX_ID_LENGTH, MAX_OFFSET
from core.openapi import NullableObjectSchemaField, raw_component, selected

SELECT_FIELDS = (
    "assistant_id",
    "graph_id",
    "name",
    "description",
    "config",
    "context",
    "created_at",
    "updated_at",
    "metadata",
    "version",
)


@extend_schema_field({"type": "string", "format": "date-time"})
class IsoDateTimeField(serializers.Field):
    """ISO-8601 with "+00:00", as the official server writes it (DRF would write "Z")."""

    def to_representation(self, value: datetime.datetime) -> str:
        return value.astimezone(datetime.UTC).isoformat()


@extend_schema_field({"type": "object", "additionalProperties": True})
class JsonObjectField(serializers.DictField):
    """A JSON object of any values."""

    child = serializers.JSONField()


@extend_schema_serializer(component_name="AssistantCreate")
class InputAssistantCreateSerializer(serializers.Serializer):
    graph_id = serializers.CharField(max_length=255)
    assistant_id = serializers.UUIDField(required=False, allow_null=True)
    config = JsonObjectField(required=False)
    context = JsonObjectField(required=False)  # type: ignore[assignment]  # DRF moves declared fields off the class
    metadata = JsonObjectField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    if_exists = serializers.ChoiceField(choices=["raise", "do_nothing"], default="raise")


@extend_schema_serializer(component_name="AssistantPatch")
class InputAssistantUpdateSerializer(serializers.Serializer):
    graph_id = serializers.CharField(required=False, max_length=255)
    config = JsonObjectField(required=False)
    context = JsonObjectField(required=False)  # type: ignore[assignment]  # DRF moves declared fields off the class
    metadata = JsonObjectField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    description = serializers.CharField(required=False, allow_blank=True)


@extend_schema_serializer(component_name="AssistantCountRequest")
class InputAssistantCountSerializer(serializers.Serializer):
    graph_id = serializers.CharField(required=False, allow_null=True, max_length=MAX_ID_LENGTH)
    metadata = JsonObjectField(required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True)


@extend_schema_serializer(component_name="AssistantSearchRequest")
class InputAssistantSearchSerializer(InputAssistantCountSerializer):
    limit = serializers.IntegerField(default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=MAX_OFFSET)
    sort_by = serializers.ChoiceField(choices=SORT_FIELDS, required=False, allow_null=True)
    sort_order = serializers.ChoiceField(choices=SORT_ORDERS, required=False, allow_null=True)
    select = serializers.ListField(
        child=serializers.ChoiceField(choices=SELECT_FIELDS), required=False, allow_null=True
    )


@extend_schema_serializer(component_name="AssistantVersionsSearchRequest")
class InputAssistantVersionsSerializer(serializers.Serializer):
    metadata = JsonObjectField(required=False, allow_null=True)
    limit = serializers.IntegerField(default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=MAX_OFFSET)


@extend_schema_serializer(component_name="AssistantVersionChange")
class InputAssistantSetLatestSerializer(serializers.Serializer):
    version = serializers.IntegerField(min_value=1, max_value=2**31 - 1)


class InputGraphSerializer(serializers.Serializer):
    xray = serializers.CharField(required=False, default="false")

    def validate_xray(self, value: str) -> bool | int:
        lowered = value.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no", ""):
            return False
        try:
            depth = int(lowered)
        except ValueError:
            raise serializers.ValidationError("Must be a boolean or an integer.") from None
        if depth < 0:
            raise serializers.ValidationError("Must be a boolean or a non-negative integer.")
        return depth


class InputSubgraphsSerializer(serializers.Serializer):
    recurse = serializers.BooleanField(required=False, default=False)


@extend_schema_serializer(component_name="AssistantVersion")
class OutputAssistantVersionSerializer(serializers.Serializer):
    assistant_id = serializers.SerializerMethodField()
    graph_id = serializers.CharField()
    config = serializers.JSONField()
    context = serializers.JSONField()  # type: ignore[assignment]  # DRF moves declared fields off the class
    metadata = serializers.JSONField()
    name = serializers.CharField()
    created_at = IsoDateTimeField()
    version = serializers.IntegerField()
    description = serializers.CharField(allow_null=True)

    @extend_schema_field({"type": "string", "format": "uuid"})
    def get_assistant_id(self, obj: Any) -> str:
        return str(obj.assistant_id)


@extend_schema_serializer(component_name="Assistant")
class OutputAssistantSerializer(OutputAssistantVersionSerializer):
    updated_at = IsoDateTimeField()


SelectedAssistantSerializer = selected(OutputAssistantSerializer, "SelectedAssistant")


# --- documentation only: shapes the selectors build as plain dicts ------------------


class GraphSchemaNoIdSerializer(serializers.Serializer):
    input_schema = NullableObjectSchemaField()
    output_schema = NullableObjectSchemaField()
    state_schema = NullableObjectSchemaField()
    config_schema = NullableObjectSchemaField()
    context_schema = NullableObjectSchemaField(required=False)


class GraphSchemaSerializer(GraphSchemaNoIdSerializer):
    graph_id = serializers.CharField()


SubgraphsSerializer = raw_component(
    "Subgraphs",
    lambda ref: {"type": "object", "additionalProperties": ref(GraphSchemaNoIdSerializer)},
)
GRAPH_DRAWING = {
    "type": "object",
    "additionalProperties": {"type": "array", "items": {"type": "object"}},
}
