"""Helpers every app's views share: the JSON body, input validation, JSON responses."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse
from rest_framework import serializers
from rest_framework.fields import empty
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

from core.errors import InvalidInput
from core.input import JSON_MEDIA_TYPE, NO_BODY, request_json
from core.json import dumps


def json_body(request: HttpRequest | Request, *, required: bool = True) -> Any:
    """The JSON body the input gate parsed and checked; an empty one is as invalid as
    malformed JSON where the official server needs a body."""
    body = request_json(getattr(request, "_request", request))
    if body is NO_BODY:
        if required:
            raise InvalidInput("Invalid JSON in request body")
        return {}
    return body


class GateJSONParser(BaseParser):
    """DRF's parser for JSON bodies: the body the gate already parsed and checked."""

    media_type = JSON_MEDIA_TYPE

    def parse(
        self,
        stream: Any,
        media_type: str | None = None,
        parser_context: Mapping[str, Any] | None = None,
    ) -> Any:
        return json_body((parser_context or {})["request"], required=False)


class BodySerializer(serializers.Serializer):
    """An input serializer that copies only the fields a body names.

    DRF deep-copies every declared field for each serializer it makes: a run create
    declares 22 fields, and that copying cost more than the rest of its validation,
    though a body names two or three. A field the body leaves out that is neither
    required nor defaulted adds nothing to validated_data and raises no error, so
    leaving it out changes neither.
    """

    def get_fields(self) -> dict[str, serializers.Field]:
        data = getattr(self, "initial_data", empty)
        if not isinstance(data, Mapping):
            return super().get_fields()
        return {
            name: copy.deepcopy(field)
            for name, field in self._declared_fields.items()
            if name in data or field.required or field.default is not empty
        }


def validated(serializer_class: type[serializers.Serializer], data: Any) -> dict[str, Any]:
    """Validate with an input serializer; errors become 422 naming the field."""
    serializer = serializer_class(data=data)
    try:
        serializer.is_valid(raise_exception=True)
        return dict(serializer.validated_data)
    finally:
        # Each bound field points back at its serializer: dropping the serializer's
        # fields lets reference counting free them, instead of the garbage collector.
        serializer.__dict__.pop("fields", None)


def json_response(
    data: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> HttpResponse:
    """A JSON response for plain (async) views, encoded with orjson: a join answers a
    thread's whole message history. With its Content-Length: without one the server
    sends the body chunked, which every client then has to decode."""
    body = dumps(data)
    response = HttpResponse(body, status=status, headers=headers, content_type="application/json")
    response["Content-Length"] = str(len(body))
    return response
