"""Routes of the crons API (included before the runs API: `runs/crons` is not a run id)."""

from __future__ import annotations

from django.urls import path

from crons.api import views

urlpatterns = [
    path("runs/crons", views.CronCreateApi.as_view()),
    path("runs/crons/search", views.CronSearchApi.as_view()),
    path("runs/crons/count", views.CronCountApi.as_view()),
    path("runs/crons/<str:cron_id>", views.CronDetailApi.as_view()),
    path("threads/<str:thread_id>/runs/crons", views.ThreadCronCreateApi.as_view()),
]
