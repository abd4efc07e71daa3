"""Routes of the agent protocols."""

from __future__ import annotations

from django.urls import path, re_path

from protocols import a2a, mcp, views

urlpatterns = [
    path("threads/<str:thread_id>/stream/events", views.stream_events_view),
    path("threads/<str:thread_id>/commands", views.commands_view),
    # /mcp/ and /mcp in one route, which the API document lists once, as /mcp/.
    re_path(r"^mcp/?$", mcp.mcp_view),
    path("a2a/<str:assistant_id>", a2a.a2a_view),
    path("a2a/<str:assistant_id>/.well-known/agent-card.json", a2a.agent_card_view),
    path("a2a/<str:assistant_id>/.well-known/agent.json", a2a.agent_card_view),
    path(".well-known/agent-card.json", a2a.agent_card_view),
]
