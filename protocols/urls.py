"""Routes of the agent protocols."""

from __future__ import annotations

from django.urls import path

from protocols import views

urlpatterns = [
    path("threads/<str:thread_id>/stream/events", views.stream_events_view),
    path("threads/<str:thread_id>/commands", views.commands_view),
]
