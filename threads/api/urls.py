"""Routes of the threads API."""

from __future__ import annotations

from django.urls import path

from threads.api import views

urlpatterns = [
    path("threads", views.ThreadCreateApi.as_view()),
    path("threads/search", views.ThreadSearchApi.as_view()),
    path("threads/count", views.ThreadCountApi.as_view()),
    path("threads/prune", views.ThreadPruneApi.as_view()),
    path("threads/<str:thread_id>", views.ThreadDetailApi.as_view()),
    path("threads/<str:thread_id>/copy", views.ThreadCopyApi.as_view()),
    path("threads/<str:thread_id>/storage", views.ThreadStorageApi.as_view()),
    path("threads/<str:thread_id>/state", views.ThreadStateApi.as_view()),
    path("threads/<str:thread_id>/state/checkpoint", views.ThreadStateAtCheckpointApi.as_view()),
    path(
        "threads/<str:thread_id>/state/<str:checkpoint_id>",
        views.ThreadStateCheckpointApi.as_view(),
    ),
    path("threads/<str:thread_id>/history", views.ThreadHistoryApi.as_view()),
]
