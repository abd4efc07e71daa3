"""The API document's shared parts: error responses, id parameters, the components every app
uses, and `api_schema`, which describes a plain async view to drf-spectacular."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.views import View
from drf_spectacular.extensions import OpenApiSerializerExtension, OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers
from rest_framework.views import APIView

V = TypeVar("V", bound=Callable[..., Any])
F = TypeVar("F", bound=type)

# Any JSON value, and any JSON object: what graphs take and give.
ANY_JSON: dict[str, Any] = {}
JSON_OBJECT: dict[str, Any] = {"type": "object", "additionalProperties": True}
NULLABLE_OBJECT: dict[str, Any] = {"type": ["object", "null"], "additionalProperties": True}


@extend_schema_field(JSON_OBJECT)
class ObjectSchemaField(serializers.JSONField):
    """Documents a JSON object of any keys."""


@extend_schema_field(NULLABLE_OBJECT)
class NullableObjectSchemaField(serializers.JSONField):
    """Documents a JSON object or null."""


@extend_schema_field(ANY_JSON)
class AnyJsonSchemaField(serializers.JSONField):
    """Documents any JSON value."""


class DeleteBodyAutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, except that DELETE documents the body its `extend_schema(request=...)`
    names (`schema = DeleteBodyAutoSchema()` on the view): the official DELETE /store/items
    takes the item's namespace and key in a JSON body."""

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        # drf-spectacular documents bodies of PUT, PATCH and POST only; PUT's rules apply.
        self.method = "PUT"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"


class ErrorResponseSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="Human-readable error message")


ERROR = OpenApiResponse(ErrorResponseSerializer)


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error responses an operation documents, each an ErrorResponse."""
    names = {400: "Bad Request", 404: "Not Found", 409: "Conflict", 422: "Validation Error"}
    return {
        code: OpenApiResponse(ErrorResponseSerializer, description=names.get(code, "Error"))
        for code in codes
    }


def path_id(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, OpenApiParameter.PATH, description=description)


THREAD_ID = path_id("thread_id", "The ID of the thread.")
RUN_ID = path_id("run_id", "The ID of the run.")
ASSISTANT_ID = path_id("assistant_id", "The ID of the assistant.")


class ConfigSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(), required=False)
    recursion_limit = serializers.IntegerField(required=False)
    configurable = ObjectSchemaField(required=False)


class CheckpointConfigSerializer(serializers.Serializer):
    thread_id = serializers.CharField(required=False)
    checkpoint_ns = serializers.CharField(required=False, allow_blank=True)
    checkpoint_id = serializers.CharField(required=False)
    checkpoint_map = ObjectSchemaField(required=False)


class InterruptSerializer(serializers.Serializer):
    id = serializers.CharField(allow_null=True, required=False)
    value = AnyJsonSchemaField()


class SendSerializer(serializers.Serializer):
    node = serializers.CharField()
    input = AnyJsonSchemaField()


S = TypeVar("S", bound=serializers.Serializer)


def selected(serializer: type[S], name: str) -> type[S]:
    """The component `name`: `serializer`'s keys, each of them optional. A search's `select`
    names the keys it answers with (threads, assistants, crons)."""

    class Selected(serializer):  # type: ignore[valid-type,misc]
        def get_fields(self) -> dict[str, serializers.Field]:
            fields = super().get_fields()
            for field in fields.values():
                # drf-spectacular lists read-only fields as required in answers.
                field.required = field.read_only = False
            return fields

    Selected.__name__ = Selected.__qualname__ = f"{name}Serializer"
    return extend_schema_serializer(component_name=name)(Selected)


def api_schema(**operations: dict[str, Any]) -> Callable[[V], V]:
    """Describe a plain async view to drf-spectacular, which documents only DRF views.

    Each keyword is a method (`get`, `post`, ...) with the `extend_schema` arguments of its
    operation. The view stays as it is; it gets a `cls`, an APIView that carries the
    documentation and is never routed to, as DRF's own function views do (`@api_view`).
    """

    def attach(view: V) -> V:
        handlers = {
            method: extend_schema(**spec)(_stand_in(method)) for method, spec in operations.items()
        }
        _attach_documentation(view, view.__name__, handlers, doc=None)
        return view

    return attach


def document_view(view: Callable[..., Any], view_class: type[View]) -> None:
    """Describe a class-based async view (core.views.AsyncApi) to drf-spectacular: `view`
    (what `as_view()` made) gets a `cls` as `api_schema` gives a function view, whose methods
    carry what `extend_schema` put on the class's handlers, whose docstring is the class's
    (DRF views are described by theirs), and whose `schema` is the class's if it names one
    (as a DRF view's does: `schema = DeleteBodyAutoSchema()`)."""
    handlers: dict[str, Any] = {}
    for method in view_class.http_method_names:
        handler = getattr(view_class, method, None)
        if handler is not None:
            handlers[method] = _stand_in(method, getattr(handler, "kwargs", None))
    schema = getattr(view_class, "schema", None)
    if schema is not None:
        handlers["schema"] = schema
    _attach_documentation(view, view_class.__name__, handlers, doc=view_class.__doc__)


def _stand_in(method: str, schema: dict[str, Any] | None = None) -> Callable[..., None]:
    """An APIView method that only carries documentation (`kwargs` is where extend_schema
    puts it); its own docstring would become the operation's description."""

    def undocumented_call(self: APIView, request: Any, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError("documentation only: requests go to the async view")

    undocumented_call.__name__ = method
    if schema is not None:
        undocumented_call.kwargs = schema  # type: ignore[attr-defined]
    return undocumented_call


def _attach_documentation(
    view: Callable[..., Any], name: str, handlers: dict[str, Any], doc: str | None
) -> None:
    view.cls = type(f"{name}_doc", (APIView,), {**handlers, "__doc__": doc})  # type: ignore[attr-defined]
    view.initkwargs = {}  # type: ignore[attr-defined]


def raw_component(
    name: str, build: Callable[[Callable[[type], dict[str, Any]]], dict[str, Any]]
) -> type:
    """A documentation-only serializer for a body that is not an object of fixed fields (a map,
    a list): its component `name` has the schema `build(ref)` returns, where `ref(cls)` points
    at another serializer's component."""
    component = type(
        f"{name}Serializer", (serializers.Serializer,), {"__doc__": f"The {name} component."}
    )

    class RawComponent(OpenApiSerializerExtension):
        target_class = component

        def get_name(self, auto_schema: Any, direction: str) -> str:
            return name

        def map_serializer(self, auto_schema: Any, direction: str) -> dict[str, Any]:
            return build(lambda cls: auto_schema.resolve_serializer(cls, direction).ref)

    return component


def schema_field(
    build: Callable[[Callable[[type], dict[str, Any]]], dict[str, Any]],
) -> Callable[[F], F]:
    """Class decorator: the field's schema is `build(ref)`, where `ref(cls)` points at a
    serializer's component (which this registers, unlike a hand-written `$ref`)."""

    def register(field_class: F) -> F:
        class RawField(OpenApiSerializerFieldExtension):
            target_class = field_class

            def map_serializer_field(self, auto_schema: Any, direction: str) -> dict[str, Any]:
                return build(lambda cls: auto_schema.resolve_serializer(cls, direction).ref)

        return field_class

    return register
