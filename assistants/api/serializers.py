"""Input and output serializers of the assistants API (shapes of langgraph_sdk.schema)."""

from __future__ import annotations

import datetime
from typing import Any

from rest_framework import serializers

from assistants.selectors import SORT_FIELDS, SORT_ORDERS
from config.input_gate import MAX_ID_LENGTH, MAX_OFFSET

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


class IsoDateTimeField(serializers.Field):
    """ISO-8601 with "+00:00", as the official server writes it (DRF would write "Z")."""

    def to_representation(self, value: datetime.datetime) -> str:
        return value.astimezone(datetime.UTC).isoformat()


class JsonObjectField(serializers.DictField):
    """A JSON object of any values."""

    child = serializers.JSONField()


class InputAssistantCreateSerializer(serializers.Serializer):
    graph_id = serializers.CharField(max_length=255)
    assistant_id = serializers.UUIDField(required=False, allow_null=True)
    config = JsonObjectField(required=False)
    context = JsonObjectField(required=False)
    metadata = JsonObjectField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    description = serializers.CharField(required=False, allow_null=True, allow_blank=True)
    if_exists = serializers.ChoiceField(choices=["raise", "do_nothing"], default="raise")


class InputAssistantUpdateSerializer(serializers.Serializer):
    graph_id = serializers.CharField(required=False, max_length=255)
    config = JsonObjectField(required=False)
    context = JsonObjectField(required=False)
    metadata = JsonObjectField(required=False)
    name = serializers.CharField(required=False, allow_blank=True, max_length=255)
    description = serializers.CharField(required=False, allow_blank=True)


class InputAssistantCountSerializer(serializers.Serializer):
    graph_id = serializers.CharField(required=False, allow_null=True, max_length=MAX_ID_LENGTH)
    metadata = JsonObjectField(required=False, allow_null=True)
    name = serializers.CharField(required=False, allow_null=True, allow_blank=True)


class InputAssistantSearchSerializer(InputAssistantCountSerializer):
    limit = serializers.IntegerField(default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=MAX_OFFSET)
    sort_by = serializers.ChoiceField(choices=SORT_FIELDS, required=False, allow_null=True)
    sort_order = serializers.ChoiceField(choices=SORT_ORDERS, required=False, allow_null=True)
    select = serializers.ListField(
        child=serializers.ChoiceField(choices=SELECT_FIELDS), required=False, allow_null=True
    )


class InputAssistantVersionsSerializer(serializers.Serializer):
    metadata = JsonObjectField(required=False, allow_null=True)
    limit = serializers.IntegerField(default=10, min_value=1, max_value=1000)
    offset = serializers.IntegerField(default=0, min_value=0, max_value=MAX_OFFSET)


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


class OutputAssistantVersionSerializer(serializers.Serializer):
    assistant_id = serializers.SerializerMethodField()
    graph_id = serializers.CharField()
    config = serializers.JSONField()
    context = serializers.JSONField()
    metadata = serializers.JSONField()
    name = serializers.CharField()
    created_at = IsoDateTimeField()
    version = serializers.IntegerField()
    description = serializers.CharField(allow_null=True)

    def get_assistant_id(self, obj: Any) -> str:
        return str(obj.assistant_id)


class OutputAssistantSerializer(OutputAssistantVersionSerializer):
    updated_at = IsoDateTimeField()
