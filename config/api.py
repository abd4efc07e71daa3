"""Helpers every app's views share: the JSON body and input validation."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers
from rest_framework.request import Request

from config.errors import InvalidInput


def json_body(request: Request, *, required: bool = True) -> Any:
    """The parsed JSON body; an empty one is as invalid as malformed JSON where the official
    server needs a body."""
    # Reading the raw body first keeps it available to DRF's parser afterwards.
    if not request.body:
        if required:
            raise InvalidInput("Invalid JSON in request body")
        return {}
    return request.data


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate with an input serializer; errors become 422 naming the field."""
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)
