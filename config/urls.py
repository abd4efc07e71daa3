"""URL routes: the LangGraph server API, /ok and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from drf_spectacular.views import SpectacularJSONAPIView, SpectacularSwaggerView

from config import health
from core.openapi import api_schema
from runs.api import views as runs_views

ok = api_schema(
    get={
        "operation_id": "health_check_ok_get",
        "summary": "Health Check",
        "tags": ["System"],
        "responses": {
            200: OpenApiResponse(
                {
                    "type": "object",
                    "properties": {"ok": {"type": "boolean"}, "services": {"type": "object"}},
                }
            ),
            503: OpenApiResponse(description="A configured service (database, Redis) is down"),
        },
    }
)(health.ok)


@api_schema(
    get={
        "operation_id": "server_info_info_get",
        "summary": "Server Information",
        "tags": ["System"],
        "responses": {
            200: OpenApiResponse(
                {
                    "type": "object",
                    "properties": {
                        "version": {"type": ["string", "null"]},
                        "langgraph_py_version": {"type": ["string", "null"]},
                        "flags": {"type": "object"},
                        "host": {"type": "object"},
                    },
                }
            )
        },
    }
)
async def info(request: HttpRequest) -> JsonResponse:
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    return JsonResponse(
        {
            "version": installed("spindle"),
            "langgraph_py_version": installed("langgraph"),
            "flags": {
                "assistants": True,
                "crons": True,
                "langsmith": False,
                "langsmith_tracing_replicas": False,
            },
            "host": {
                "kind": "self-hosted",
                "project_id": None,
                "host_revision_id": None,
                "revision_id": None,
                "tenant_id": None,
            },
        }
    )


@extend_schema_view(
    get=extend_schema(
        operation_id="docs_get",
        summary="API Documentation",
        tags=["System"],
        exclude=False,
        responses={
            (200, "text/html"): OpenApiResponse(description="Swagger UI, served from local files")
        },
    )
)
class DocsView(SpectacularSwaggerView):
    """Swagger UI for /openapi.json, listed in the document as the official /docs is."""

    schema = AutoSchema()

    # A plain JsonResponse, not DRF's Response: DRF would describe the view through its HTML
    # template renderer, which cannot.
    def options(self, request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:  # type: ignore[override]
        return JsonResponse({"detail": "Method Not Allowed"}, status=405)


async def root(request: HttpRequest) -> JsonResponse:
    return await ok(request)


# Django tries the patterns in order: after the health check (polled by load balancers),
# the run routes, requested on every run (resolving a join had walked some 35 patterns).
# The cron routes precede them: "runs/crons/<id>" and "threads/<id>/runs/crons" also
# match run patterns.
urlpatterns = [
    path("", root),
    path("ok", ok),
    path("", include("crons.api.urls")),
    path("", include("runs.api.urls")),
    path("", include("threads.api.urls")),
    path("", include("assistants.api.urls")),
    path("", include("store.api.urls")),
    path("", include("protocols.urls")),
    path("info", info),
    path("metrics", runs_views.MetricsApi.as_view()),
    path("openapi.json", SpectacularJSONAPIView.as_view(), name="openapi"),
    path("docs", DocsView.as_view(url_name="openapi"), name="docs"),
    path("admin/", admin.site.urls),
]

handler400 = "core.errors.handler400"
handler403 = "core.errors.handler403"
handler404 = "core.errors.handler404"
handler500 = "core.errors.handler500"
