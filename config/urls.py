"""URL routes: the LangGraph server API, /ok and the admin."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, JsonResponse
from django.urls import include, path


def ok(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True, "services": {}})


urlpatterns = [
    path("", ok),
    path("ok", ok),
    path("admin/", admin.site.urls),
    path("", include("assistants.api.urls")),
    path("", include("threads.api.urls")),
    path("", include("runs.api.urls")),
]

handler400 = "config.errors.handler400"
handler403 = "config.errors.handler403"
handler404 = "config.errors.handler404"
handler500 = "config.errors.handler500"
