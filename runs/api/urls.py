"""Routes of the runs API."""

from __future__ import annotations

from django.urls import path

from runs.api import views

urlpatterns = [
    path("threads/<str:thread_id>/runs", views.RunCreateApi.as_view()),
    path("threads/<str:thread_id>/runs/wait", views.run_wait_view),
    path("threads/<str:thread_id>/runs/<str:run_id>", views.RunDetailApi.as_view()),
    path("threads/<str:thread_id>/runs/<str:run_id>/join", views.run_join_view),
    path("threads/<str:thread_id>/runs/<str:run_id>/cancel", views.run_cancel_view),
    path("runs", views.StatelessRunCreateApi.as_view()),
    path("runs/wait", views.stateless_run_wait_view),
]
