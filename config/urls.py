"""URL routes: the LangGraph server API, /ok and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


async def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "services": {}})


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
            "flags": {"assistants": True, "crons": False, "langsmith": False, "langsmith_tracing_replicas": False},
            "host": {"kind": "self-hosted", "project_id": None, "host_revision_id": None, "revision_id": None, "tenant_id": None},
        }
    )


urlpatterns = [
    path("", ok),
    path("ok", ok),
    path("info", info),
    path("admin/", admin.site.urls),
    path("", include("assistants.api.urls")),
    path("", include("threads.api.urls")),
    path("", include("runs.api.urls")),
    path("", include("protocols.urls")),
]

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
