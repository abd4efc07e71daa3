"""Routes of the runs API."""

from __future__ import annotations

from django.urls import path

from runs.api import views

urlpatterns = [
    path("threads/<str:thread_id>/runs", views.ThreadRunsApi.as_view()),
    path("threads/<str:thread_id>/runs/wait", views.ThreadRunWaitApi.as_view()),
    path("threads/<str:thread_id>/runs/stream", views.ThreadRunStreamApi.as_view()),
    path("threads/<str:thread_id>/stream", views.ThreadStreamApi.as_view()),
    path("threads/<str:thread_id>/runs/<str:run_id>", views.ThreadRunDetailApi.as_view()),
    path("threads/<str:thread_id>/runs/<str:run_id>/join", views.ThreadRunJoinApi.as_view()),
    path(
        "threads/<str:thread_id>/runs/<str:run_id>/stream", views.ThreadRunJoinStreamApi.as_view()
    ),
    path("threads/<str:thread_id>/runs/<str:run_id>/cancel", views.ThreadRunCancelApi.as_view()),
    path("runs", views.RunCreateApi.as_view()),
    path("runs/wait", views.RunWaitApi.as_view()),
    path("runs/batch", views.RunBatchCreateApi.as_view()),
    path("runs/cancel", views.RunsCancelApi.as_view()),
    path("runs/stream", views.RunStreamApi.as_view()),
    path("runs/<str:run_id>/stream", views.RunJoinStreamApi.as_view()),
]
