"""Routes of the agent protocols."""

from __future__ import annotations

from django.urls import path

from protocols import a2a, mcp, views

urlpatterns = [
    path("threads/<str:thread_id>/stream/events", views.stream_events_view),
    path("threads/<str:thread_id>/commands", views.commands_view),
    path("mcp/", mcp.mcp_view),
    path("mcp", mcp.mcp_view),
    path("a2a/<str:assistant_id>", a2a.a2a_view),
    path("a2a/<str:assistant_id>/.well-known/agent-card.json", a2a.agent_card_view),
    path("a2a/<str:assistant_id>/.well-known/agent.json", a2a.agent_card_view),
    path(".well-known/agent-card.json", a2a.agent_card_view),
]
