"""Input and output shapes of the store API (output keys match langgraph_sdk.schema.Item)."""

from __future__ import annotations

import json
from typing import Any

from drf_spectacular.utils import extend_schema_field, extend_schema_serializer
from langgraph.store.base import Item, SearchItem
from rest_framework import serializers

from core.openapi import ObjectSchemaField, raw_component
from store.filters import validate_filter

MAX_LIMIT = 1000


def validate_labels(labels: Any) -> tuple[str, ...]:
    """A namespace: a list of non-empty labels without periods (the API joins them with one)."""
    if not isinstance(labels, list | tuple):
        raise serializers.ValidationError("Namespace must be a list of labels")
    for label in labels:
        if not isinstance(label, str) or not label or "." in label or "\x00" in label:
            raise serializers.ValidationError(
                f"Namespace label {label!r} must be a non-empty string without periods"
            )
    return tuple(labels)


@extend_schema_field({"type": "array", "items": {"type": "string"}})
class _NamespaceField(serializers.Field):
    def to_internal_value(self, data: Any) -> tuple[str, ...]:
        return validate_labels(data)

    def to_representation(self, value: Any) -> Any:
        return list(value)


class _KeyField(serializers.CharField):
    def __init__(self, **kwargs: Any) -> None:
        # An empty key is a key, as on the official server.
        super().__init__(allow_blank=True, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        if "\x00" in data:
            raise serializers.ValidationError("Key must not contain NUL characters")
        return super().to_internal_value(data)


@extend_schema_field(
    {
        "oneOf": [
            {"type": "boolean", "enum": [False]},
            {"type": "array", "items": {"type": "string"}},
        ]
    }
)
class _IndexField(serializers.Field):
    default_error_messages = {"invalid": "Must be false, null or a list of field paths."}

    def to_internal_value(self, data: Any) -> Any:
        if data is False:
            return False
        if isinstance(data, list) and all(isinstance(path, str) and path for path in data):
            return data
        self.fail("invalid")

    def to_representation(self, value: Any) -> Any:
        return value


@extend_schema_serializer(component_name="StorePutRequest")
class InputStorePutSerializer(serializers.Serializer):
    namespace = _NamespaceField()
    key = _KeyField()
    value = ObjectSchemaField()
    index = _IndexField(required=False, allow_null=True)
    ttl = serializers.FloatField(required=False, allow_null=True, min_value=0)

    def validate_value(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise serializers.ValidationError("Must be an object.")
        if "\\u0000" in json.dumps(value):
            raise serializers.ValidationError("Must not contain NUL characters")
        return value


@extend_schema_serializer(component_name="StoreDeleteRequest")
class InputStoreDeleteSerializer(serializers.Serializer):
    namespace = _NamespaceField(required=False, allow_null=True)
    key = _KeyField()


class InputStoreGetSerializer(serializers.Serializer):
    namespace = serializers.CharField(
        required=False, allow_blank=True, default="", trim_whitespace=False
    )
    key = _KeyField()
    refresh_ttl = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_namespace(self, value: str) -> tuple[str, ...]:
        # The SDK joins the labels with periods.
        return validate_labels(value.split(".") if value else [])


@extend_schema_serializer(component_name="StoreSearchRequest")
class InputStoreSearchSerializer(serializers.Serializer):
    namespace_prefix = _NamespaceField(required=False, allow_null=True)
    filter = ObjectSchemaField(required=False, allow_null=True)
    # 0 means the default, as on the official server.
    limit = serializers.IntegerField(required=False, default=10, min_value=0, max_value=MAX_LIMIT)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)
    query = serializers.CharField(
        required=False, allow_null=True, allow_blank=True, trim_whitespace=False
    )
    refresh_ttl = serializers.BooleanField(required=False, allow_null=True, default=None)

    def validate_filter(self, value: Any) -> Any:
        if value is not None:
            validate_filter(value)
        return value


@extend_schema_serializer(component_name="StoreListNamespacesRequest")
class InputStoreNamespacesSerializer(serializers.Serializer):
    prefix = _NamespaceField(required=False, allow_null=True)
    suffix = _NamespaceField(required=False, allow_null=True)
    max_depth = serializers.IntegerField(required=False, allow_null=True, min_value=1)
    limit = serializers.IntegerField(required=False, default=100, min_value=0, max_value=MAX_LIMIT)
    offset = serializers.IntegerField(required=False, default=0, min_value=0)


@extend_schema_serializer(component_name="Item")
class ItemSerializer(serializers.Serializer):
    """Documents item_to_json's output; a search's items also have their `score`."""

    namespace = serializers.ListField(child=serializers.CharField())
    key = serializers.CharField()
    value = ObjectSchemaField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    score = serializers.FloatField(required=False, allow_null=True)


@extend_schema_serializer(component_name="SearchItemsResponse")
class SearchItemsResponseSerializer(serializers.Serializer):
    items = ItemSerializer(many=True)


@extend_schema_serializer(component_name="ListNamespaceResponse")
class ListNamespaceResponseSerializer(serializers.Serializer):
    """As the official server and the SDK have it (the official document says a bare list)."""

    namespaces = serializers.ListField(child=serializers.ListField(child=serializers.CharField()))


# GET /store/items answers `null` for a missing item.
ItemOrNull = raw_component(
    "ItemOrNull", lambda ref: {"oneOf": [ref(ItemSerializer), {"type": "null"}]}
)


def item_to_json(item: Item) -> dict[str, Any]:
    body: dict[str, Any] = {
        "namespace": list(item.namespace),
        "key": item.key,
        "value": item.value,
        "created_at": item.created_at.isoformat(),
        "updated_at": item.updated_at.isoformat(),
    }
    if isinstance(item, SearchItem):
        body["score"] = item.score
    return body
