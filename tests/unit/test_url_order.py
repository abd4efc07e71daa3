"""The URL patterns' order: where two patterns match one path, the intended view wins, and
the run routes are found without walking the rest of the API first."""

from __future__ import annotations

import pytest
from django.urls import get_resolver
from django.urls.resolvers import URLPattern, URLResolver

THREAD = "3f0b6c1e-4b8e-4d6f-9d1e-0a1b2c3d4e5f"
RUN = "0f9e8d7c-6b5a-4c3d-8e2f-1a0b9c8d7e6f"


@pytest.mark.parametrize(
    ("path", "view"),
    [
        # Each also matches a run route ("runs/<run_id>/stream", "threads/<id>/runs/<run_id>").
        ("/runs/crons/stream", "CronDetailApi"),
        (f"/threads/{THREAD}/runs/crons", "ThreadCronCreateApi"),
        ("/runs/crons", "CronCreateApi"),
        ("/runs/crons/search", "CronSearchApi"),
        # And the routes next to them still reach their own views.
        (f"/threads/{THREAD}/runs", "ThreadRunsApi"),
        (f"/threads/{THREAD}/runs/{RUN}", "ThreadRunDetailApi"),
        (f"/threads/{THREAD}/runs/{RUN}/join", "ThreadRunJoinApi"),
        (f"/runs/{RUN}/stream", "RunJoinStreamApi"),
        ("/threads/search", "ThreadSearchApi"),
        (f"/threads/{THREAD}", "ThreadDetailApi"),
        (f"/threads/{THREAD}/stream/events", "ThreadEventStreamApi"),
        ("/assistants/search", "AssistantSearchApi"),
        ("/store/items", "StoreItemApi"),
    ],
)
def test_each_path_reaches_its_view(path: str, view: str) -> None:
    view_class = getattr(get_resolver().resolve(path).func, "view_class", None)
    assert view_class is not None and view_class.__name__ == view


def _patterns_tried(path: str) -> int:
    """How many route patterns Django's resolver tries before `path` matches."""
    tried = 0

    def walk(patterns: list[URLPattern | URLResolver], rest: str) -> bool:
        nonlocal tried
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                match = pattern.pattern.match(rest)
                if match and walk(pattern.url_patterns, match[0]):
                    return True
                continue
            tried += 1
            if pattern.pattern.match(rest):
                return True
        return False

    assert walk(get_resolver().url_patterns, path.lstrip("/"))
    return tried


@pytest.mark.parametrize(
    "path", [f"/threads/{THREAD}/runs", f"/threads/{THREAD}/runs/{RUN}/join", "/runs/wait"]
)
def test_run_routes_come_first(path: str) -> None:
    # The health check and the cron routes (which must precede the run routes), then the
    # run routes: a run create or join is not matched against every other API route.
    assert _patterns_tried(path) <= 20
