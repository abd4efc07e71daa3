"""Routes of the agent protocols."""

from __future__ import annotations

from django.urls import path

from protocols import mcp, views

urlpatterns = [
    path("threads/<str:thread_id>/stream/events", views.stream_events_view),
    path("threads/<str:thread_id>/commands", views.commands_view),
    path("mcp/", mcp.mcp_view),
    path("mcp", mcp.mcp_view),
]
