"""Routes of the runs API."""

from __future__ import annotations

from django.urls import path

from runs.api import views

urlpatterns = [
    path("threads/<str:thread_id>/runs", views.runs_view),
    path("threads/<str:thread_id>/runs/wait", views.run_wait_view),
    path("threads/<str:thread_id>/runs/stream", views.run_stream_view),
    path("threads/<str:thread_id>/stream", views.thread_stream_view),
    path("threads/<str:thread_id>/runs/<str:run_id>", views.RunDetailApi.as_view()),
    path("threads/<str:thread_id>/runs/<str:run_id>/join", views.run_join_view),
    path("threads/<str:thread_id>/runs/<str:run_id>/stream", views.run_join_stream_view),
    path("threads/<str:thread_id>/runs/<str:run_id>/cancel", views.run_cancel_view),
    path("runs", views.stateless_runs_view),
    path("runs/wait", views.stateless_run_wait_view),
    path("runs/batch", views.runs_batch_view),
    path("runs/cancel", views.runs_cancel_view),
    path("runs/stream", views.stateless_run_stream_view),
    path("runs/<str:run_id>/stream", views.stateless_run_join_stream_view),
]
