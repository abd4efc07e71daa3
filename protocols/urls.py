"""Routes of the agent protocols."""

from __future__ import annotations

from django.urls import path, re_path

from protocols import a2a, mcp, views

urlpatterns = [
    path("threads/<str:thread_id>/stream/events", views.ThreadEventStreamApi.as_view()),
    path("threads/<str:thread_id>/commands", views.ThreadCommandApi.as_view()),
    # /mcp/ and /mcp in one route, which the API document lists once, as /mcp/.
    re_path(r"^mcp/?$", mcp.McpApi.as_view()),
    path("a2a/<str:assistant_id>", a2a.A2AApi.as_view()),
    path("a2a/<str:assistant_id>/.well-known/agent-card.json", a2a.AgentCardApi.as_view()),
    path("a2a/<str:assistant_id>/.well-known/agent.json", a2a.AgentCardApi.as_view()),
    path(".well-known/agent-card.json", a2a.AgentCardApi.as_view()),
]
