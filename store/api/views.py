"""Views of the store API: parse, call the store, render."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.http import HttpRequest, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema

from access.handlers import authorize
from core.db.asyncdb import db
from core.errors import SpindleError
from core.http import json_body, json_response, validated
from core.openapi import DeleteBodyAutoSchema, errors
from core.views import AsyncApi, no_content
from store.api.serializers import (
    InputStoreDeleteSerializer,
    InputStoreGetSerializer,
    InputStoreNamespacesSerializer,
    InputStorePutSerializer,
    InputStoreSearchSerializer,
    ItemOrNull,
    ListNamespaceResponseSerializer,
    SearchItemsResponseSerializer,
    item_to_json,
)
from store.backend import DjangoStore
from store.filters import StoreRequestError

T = TypeVar("T")


def _in_store(method: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """A DjangoStore method called on a new store, for db(): reading langgraph.json's store
    section and the embeddings a put or a search computes stay off the event loop."""
    return method(DjangoStore(), *args, **kwargs)


DONE = OpenApiResponse(description="Success")


class StoreItemApi(AsyncApi):
    schema = DeleteBodyAutoSchema()

    @extend_schema(
        operation_id="put_item",
        summary="Store or update an item.",
        tags=["Store"],
        request=InputStorePutSerializer,
        responses={204: DONE, **errors(400, 422)},
    )
    async def put(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputStorePutSerializer, json_body(request))
        value = {
            "namespace": tuple(payload["namespace"]),
            "key": payload["key"],
            "value": payload["value"],
            "index": payload.get("index"),
        }
        await authorize("store", "put", value)
        payload["namespace"] = list(_namespace(value))
        namespace = payload["namespace"]
        # What langgraph's BaseStore.put refuses, with its words, as the official server answers.
        if not namespace:
            raise StoreRequestError("Namespace cannot be empty.")
        if namespace[0] == "langgraph":
            raise StoreRequestError(
                f'Root label for namespace cannot be "langgraph". Got: {namespace!r}'
            )
        put = {"index": payload.get("index")}
        if payload.get("ttl") is not None:
            put["ttl"] = payload["ttl"]
        await db(
            _in_store,
            DjangoStore.put,
            payload["namespace"],
            payload["key"],
            payload["value"],
            **put,
        )
        return no_content()

    @extend_schema(
        operation_id="get_item",
        summary="Retrieve a single item.",
        tags=["Store"],
        parameters=[
            OpenApiParameter("key", OpenApiTypes.STR, OpenApiParameter.QUERY, required=True),
            OpenApiParameter(
                "namespace",
                OpenApiTypes.STR,
                OpenApiParameter.QUERY,
                description="The namespace's labels joined with periods, as the SDK sends it.",
            ),
            OpenApiParameter("refresh_ttl", OpenApiTypes.BOOL, OpenApiParameter.QUERY),
        ],
        responses={200: ItemOrNull, **errors(400, 422)},
    )
    async def get(self, request: HttpRequest) -> HttpResponse:
        if not request.GET.get("key"):
            raise KeyRequired()
        params = validated(InputStoreGetSerializer, request.GET)
        value = {"namespace": tuple(params["namespace"]), "key": params["key"]}
        await authorize("store", "get", value)
        params["namespace"] = list(_namespace(value))
        item = await db(
            _in_store,
            DjangoStore.get,
            params["namespace"],
            params["key"],
            refresh_ttl=params["refresh_ttl"],
        )
        # `null` for no item, as the official server answers.
        return json_response(None if item is None else item_to_json(item))

    @extend_schema(
        operation_id="delete_item",
        summary="Delete an item.",
        tags=["Store"],
        request=InputStoreDeleteSerializer,
        responses={204: DONE, **errors(422)},
    )
    async def delete(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputStoreDeleteSerializer, json_body(request))
        value = {"namespace": tuple(payload.get("namespace") or ()), "key": payload["key"]}
        await authorize("store", "delete", value)
        await db(_in_store, DjangoStore.delete, _namespace(value), payload["key"])
        return no_content()


def _namespace(value: dict[str, Any]) -> tuple[str, ...]:
    """The namespace after the auth handler (which may scope it to its user, as the
    official docs' store handler does)."""
    namespace = value.get("namespace") or ()
    if not isinstance(namespace, list | tuple) or not all(
        isinstance(label, str) for label in namespace
    ):
        raise StoreRequestError("The auth handler left a namespace that is not a list of strings")
    return tuple(namespace)


class KeyRequired(SpindleError):
    """GET /store/items without a key: 400, as on the official server."""

    status_code = 400
    default_detail = "Key is required"


class StoreSearchApi(AsyncApi):
    @extend_schema(
        operation_id="search_items",
        summary="Search or list items within a namespace prefix.",
        tags=["Store"],
        request=InputStoreSearchSerializer,
        responses={200: SearchItemsResponseSerializer, **errors(400, 422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputStoreSearchSerializer, json_body(request, required=False))
        value = {
            "namespace": tuple(payload.get("namespace_prefix") or ()),
            "filter": payload.get("filter"),
            "limit": payload["limit"] or 10,
            "offset": payload["offset"],
            "query": payload.get("query") or None,
        }
        # The handler may rewrite the namespace, and its filter narrows the items' values.
        restriction = await authorize("store", "search", value, remember=False)
        items = await db(
            _in_store,
            DjangoStore.search,
            _namespace(value),
            query=payload.get("query") or None,
            filter={**(value.get("filter") or {}), **(restriction or {})} or None,
            limit=payload["limit"] or 10,
            offset=payload["offset"],
            refresh_ttl=payload["refresh_ttl"],
        )
        return json_response({"items": [item_to_json(item) for item in items]})


class StoreNamespacesApi(AsyncApi):
    @extend_schema(
        operation_id="list_namespaces",
        summary="List namespaces with optional match conditions.",
        tags=["Store"],
        request=InputStoreNamespacesSerializer,
        responses={200: ListNamespaceResponseSerializer, **errors(422)},
    )
    async def post(self, request: HttpRequest) -> HttpResponse:
        payload = validated(InputStoreNamespacesSerializer, json_body(request, required=False))
        value = {
            "namespace": tuple(payload.get("prefix") or ()),
            "suffix": payload.get("suffix"),
            "max_depth": payload.get("max_depth"),
            "limit": payload["limit"],
            "offset": payload["offset"],
        }
        await authorize("store", "list_namespaces", value, remember=False)
        namespaces = await db(
            _in_store,
            DjangoStore.list_namespaces,
            prefix=_namespace(value) or None,
            suffix=payload.get("suffix") or None,
            max_depth=payload.get("max_depth"),
            limit=payload["limit"],
            offset=payload["offset"],
        )
        return json_response({"namespaces": [list(namespace) for namespace in namespaces]})
