"""Views of the store API: parse, call the store, render."""

from __future__ import annotations

from django.http import HttpResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import json_body, json_response, validated
from config.errors import SpindleError
from store.api.serializers import (
    InputStoreDeleteSerializer,
    InputStoreGetSerializer,
    InputStoreNamespacesSerializer,
    InputStorePutSerializer,
    InputStoreSearchSerializer,
    item_to_json,
)
from store.backend import DjangoStore
from store.filters import StoreRequestError


def _store() -> DjangoStore:
    return DjangoStore()


class StoreItemApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def put(self, request: Request) -> Response:
        payload = validated(InputStorePutSerializer, json_body(request))
        namespace = payload["namespace"]
        # What langgraph's BaseStore.put refuses, with its words, as the official server answers.
        if not namespace:
            raise StoreRequestError("Namespace cannot be empty.")
        if namespace[0] == "langgraph":
            raise StoreRequestError(f'Root label for namespace cannot be "langgraph". Got: {namespace!r}')
        put = {"index": payload.get("index")}
        if payload.get("ttl") is not None:
            put["ttl"] = payload["ttl"]
        _store().put(payload["namespace"], payload["key"], payload["value"], **put)
        return Response(status=204)

    def get(self, request: Request) -> Response | HttpResponse:
        if not request.query_params.get("key"):
            raise KeyRequired()
        params = validated(InputStoreGetSerializer, request.query_params)
        item = _store().get(params["namespace"], params["key"], refresh_ttl=params["refresh_ttl"])
        if item is None:
            # `null`, as the official server answers (DRF would send an empty body).
            return json_response(None)
        return Response(item_to_json(item))

    def delete(self, request: Request) -> Response:
        payload = validated(InputStoreDeleteSerializer, json_body(request))
        _store().delete(payload.get("namespace") or (), payload["key"])
        return Response(status=204)


class KeyRequired(SpindleError):
    """GET /store/items without a key: 400, as on the official server."""

    status_code = 400
    default_detail = "Key is required"


class StoreSearchApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def post(self, request: Request) -> Response:
        payload = validated(InputStoreSearchSerializer, json_body(request, required=False))
        items = _store().search(
            payload.get("namespace_prefix") or (),
            query=payload.get("query") or None,
            filter=payload.get("filter"),
            limit=payload["limit"] or 10,
            offset=payload["offset"],
            refresh_ttl=payload["refresh_ttl"],
        )
        return Response({"items": [item_to_json(item) for item in items]})


class StoreNamespacesApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def post(self, request: Request) -> Response:
        payload = validated(InputStoreNamespacesSerializer, json_body(request, required=False))
        namespaces = _store().list_namespaces(
            prefix=payload.get("prefix") or None,
            suffix=payload.get("suffix") or None,
            max_depth=payload.get("max_depth"),
            limit=payload["limit"],
            offset=payload["offset"],
        )
        return Response({"namespaces": [list(namespace) for namespace in namespaces]})
