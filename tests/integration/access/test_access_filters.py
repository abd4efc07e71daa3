"""An auth handler's filter as a query: exactly the rows whose metadata match, on PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from access.filters import filter_q
from threads.models import Thread


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("filters", "matches"),
    [
        ({"owner": "a"}, True),
        ({"owner": "b"}, False),
        ({"owner": {"$eq": "a"}}, True),
        ({"n": 3}, True),
        ({"n": "3"}, False),
        ({"missing": None}, False),
        ({"tags": {"$contains": "x"}}, True),
        ({"tags": {"$contains": ["x", "y"]}}, True),
        ({"tags": {"$contains": ["x", "z"]}}, False),
        ({"owner": "a", "n": 4}, False),
        ({"$or": [{"owner": "b"}, {"n": 3}]}, True),
        ({"$or": [{"owner": "b"}, {"n": 4}]}, False),
        ({"$and": [{"owner": "a"}, {"n": 3}]}, True),
        ({"we.ird__key": "v"}, True),
        ({}, True),
    ],
)
def test_a_handler_filter_selects_exactly_the_matching_metadata(
    filters: dict[str, Any], matches: bool
) -> None:
    thread = Thread.objects.create(
        thread_id=uuid.uuid4(),
        metadata={"owner": "a", "n": 3, "tags": ["x", "y"], "we.ird__key": "v"},
    )
    Thread.objects.create(thread_id=uuid.uuid4(), metadata={"owner": "b"})
    found = list(Thread.objects.filter(filter_q(filters), pk=thread.pk))
    assert found == ([thread] if matches else [])


@pytest.mark.django_db
def test_a_protocol_stream_takes_a_thread_outside_its_filter_for_a_missing_one() -> None:
    from runs.selectors import thread_in_filter, thread_runs_to_stream

    thread = Thread.objects.create(thread_id=uuid.uuid4(), metadata={"owner": "a"})
    assert thread_runs_to_stream(thread_id=thread.pk, thread_filter={"owner": "a"}) == []
    assert thread_runs_to_stream(thread_id=thread.pk, thread_filter={"owner": "b"}) is None
    assert thread_runs_to_stream(thread_id=thread.pk) == []
    assert thread_in_filter(thread_id=thread.pk, thread_filter={"owner": "a"})
    assert not thread_in_filter(thread_id=thread.pk, thread_filter={"owner": "b"})
    assert not thread_in_filter(thread_id=uuid.uuid4(), thread_filter=None)
