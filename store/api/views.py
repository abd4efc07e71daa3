"""Views of the store API: parse, call the store, render."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import json_body, validated
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


def _store() -> DjangoStore:
    return DjangoStore()


class StoreItemApi(APIView):
    def put(self, request: Request) -> Response:
        payload = validated(InputStorePutSerializer, json_body(request))
        put = {"index": payload.get("index")}
        if payload.get("ttl") is not None:
            put["ttl"] = payload["ttl"]
        _store().put(payload["namespace"], payload["key"], payload["value"], **put)
        return Response(status=204)

    def get(self, request: Request) -> Response:
        if not request.query_params.get("key"):
            raise KeyRequired()
        params = validated(InputStoreGetSerializer, request.query_params)
        item = _store().get(params["namespace"], params["key"], refresh_ttl=params["refresh_ttl"])
        return Response(None if item is None else item_to_json(item))

    def delete(self, request: Request) -> Response:
        payload = validated(InputStoreDeleteSerializer, json_body(request))
        _store().delete(payload.get("namespace") or (), payload["key"])
        return Response(status=204)


class KeyRequired(SpindleError):
    """GET /store/items without a key: 400, as on the official server."""

    status_code = 400
    default_detail = "Key is required"


class StoreSearchApi(APIView):
    def post(self, request: Request) -> Response:
        payload = validated(InputStoreSearchSerializer, json_body(request, required=False))
        items = _store().search(
            payload.get("namespace_prefix") or (),
            query=payload.get("query") or None,
            filter=payload.get("filter"),
            limit=payload["limit"],
            offset=payload["offset"],
            refresh_ttl=payload["refresh_ttl"],
        )
        return Response({"items": [item_to_json(item) for item in items]})


class StoreNamespacesApi(APIView):
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
