"""Views of the crons API: parse, call one service or selector, render."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import json_body, validated
from config.errors import SpindleError
from config.ids import parse_path_id
from crons import selectors, services
from crons.api.serializers import (
    InputCronCountSerializer,
    InputCronCreateSerializer,
    InputCronPatchSerializer,
    InputCronSearchSerializer,
    cron_to_json,
)


class EmptyPatch(SpindleError):
    status_code = 400
    default_detail = "Request body cannot be empty"


class CronCreateApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def post(self, request: Request) -> Response:
        payload = validated(InputCronCreateSerializer, json_body(request))
        return Response(cron_to_json(services.cron_create(thread_id=None, payload=payload)))


class ThreadCronCreateApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def post(self, request: Request, thread_id: str) -> Response:
        tid = parse_path_id(thread_id, "thread")
        payload = validated(InputCronCreateSerializer, json_body(request))
        payload.pop("on_run_completed", None)
        return Response(cron_to_json(services.cron_create(thread_id=tid, payload=payload)))


class CronDetailApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def get(self, request: Request, cron_id: str) -> Response:
        return Response(cron_to_json(selectors.cron_get(parse_path_id(cron_id, "cron"))))

    def patch(self, request: Request, cron_id: str) -> Response:
        cid = parse_path_id(cron_id, "cron")
        body = json_body(request)
        if body == {}:
            raise EmptyPatch()
        patch = validated(InputCronPatchSerializer, body)
        if not patch:
            raise EmptyPatch("No fields to update")
        services.cron_update(cron_id=cid, patch=patch)
        return Response(cron_to_json(selectors.cron_get(cid)))

    def delete(self, request: Request, cron_id: str) -> Response:
        services.cron_delete(cron_id=parse_path_id(cron_id, "cron"))
        return Response(status=204)


class CronSearchApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def post(self, request: Request) -> Response:
        params = validated(InputCronSearchSerializer, json_body(request, required=False))
        select = params.pop("select", None)
        crons, total = selectors.cron_search(**params)
        headers = {"X-Pagination-Total": str(total)}
        if params["offset"] + len(crons) < total:
            headers["X-Pagination-Next"] = str(params["offset"] + params["limit"])
        return Response([cron_to_json(cron, select) for cron in crons], headers=headers)


class CronCountApi(APIView):
    schema = None  # not in /openapi.json until documented with the official names
    def post(self, request: Request) -> Response:
        params = validated(InputCronCountSerializer, json_body(request, required=False))
        return Response(selectors.cron_count(**params))
