"""Views of the crons API: parse, call one service or selector, render."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import json_body, validated
from config.errors import SpindleError
from config.ids import parse_path_id
from config.openapi import THREAD_ID, errors, path_id
from crons import selectors, services
from crons.api.serializers import (
    CronSerializer,
    InputCronCountSerializer,
    InputCronCreateSerializer,
    InputCronPatchSerializer,
    InputCronSearchSerializer,
    InputThreadCronCreateSerializer,
    SelectedCronSerializer,
    cron_to_json,
)


class EmptyPatch(SpindleError):
    status_code = 400
    default_detail = "Request body cannot be empty"


CRON_ID = path_id("cron_id", "The ID of the cron.")


class CronCreateApi(APIView):
    @extend_schema(
        operation_id="create_cron_runs_crons_post", summary="Create Cron", tags=["Crons"],
        request=InputCronCreateSerializer, responses={200: CronSerializer, **errors(404, 422)},
    )
    def post(self, request: Request) -> Response:
        payload = validated(InputCronCreateSerializer, json_body(request))
        return Response(cron_to_json(services.cron_create(thread_id=None, payload=payload)))


class ThreadCronCreateApi(APIView):
    @extend_schema(
        operation_id="create_thread_cron_threads__thread_id__runs_crons_post", summary="Create Thread Cron",
        tags=["Crons"], parameters=[THREAD_ID], request=InputThreadCronCreateSerializer,
        responses={200: CronSerializer, **errors(404, 422)},
    )
    def post(self, request: Request, thread_id: str) -> Response:
        tid = parse_path_id(thread_id, "thread")
        payload = validated(InputThreadCronCreateSerializer, json_body(request))
        return Response(cron_to_json(services.cron_create(thread_id=tid, payload=payload)))


class CronDetailApi(APIView):
    @extend_schema(
        operation_id="get_cron_runs_crons__cron_id__get", summary="Get Cron", tags=["Crons"],
        parameters=[CRON_ID], responses={200: CronSerializer, **errors(404, 422)},
    )
    def get(self, request: Request, cron_id: str) -> Response:
        return Response(cron_to_json(selectors.cron_get(parse_path_id(cron_id, "cron"))))

    @extend_schema(
        operation_id="patch_cron_runs_crons__cron_id__patch", summary="Update Cron", tags=["Crons"],
        parameters=[CRON_ID], request=InputCronPatchSerializer,
        responses={200: CronSerializer, **errors(400, 404, 422)},
    )
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

    @extend_schema(
        operation_id="delete_cron_runs_crons__cron_id__delete", summary="Delete Cron", tags=["Crons"],
        parameters=[CRON_ID], responses={204: OpenApiResponse(description="Deleted"), **errors(404, 422)},
    )
    def delete(self, request: Request, cron_id: str) -> Response:
        services.cron_delete(cron_id=parse_path_id(cron_id, "cron"))
        return Response(status=204)


class CronSearchApi(APIView):
    @extend_schema(
        operation_id="search_crons_runs_crons_post", summary="Search Crons", tags=["Crons"],
        request=InputCronSearchSerializer, responses={200: SelectedCronSerializer(many=True), **errors(422)},
    )
    def post(self, request: Request) -> Response:
        params = validated(InputCronSearchSerializer, json_body(request, required=False))
        select = params.pop("select", None)
        crons, total = selectors.cron_search(**params)
        headers = {"X-Pagination-Total": str(total)}
        if params["offset"] + len(crons) < total:
            headers["X-Pagination-Next"] = str(params["offset"] + params["limit"])
        return Response([cron_to_json(cron, select) for cron in crons], headers=headers)


class CronCountApi(APIView):
    @extend_schema(
        operation_id="count_crons_runs_crons_count_post", summary="Count Crons", tags=["Crons"],
        request=InputCronCountSerializer, responses={200: OpenApiTypes.INT, **errors(404, 422)},
    )
    def post(self, request: Request) -> Response:
        params = validated(InputCronCountSerializer, json_body(request, required=False))
        return Response(selectors.cron_count(**params))
