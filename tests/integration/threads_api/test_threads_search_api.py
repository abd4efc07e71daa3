"""POST /threads/search and /threads/count: filters, sorting, pagination headers, validation."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from threads.models import Thread, ThreadStatus
from threads.selectors import thread_count, thread_search

pytestmark = pytest.mark.django_db


def search(api: APIClient, body: Any) -> Any:
    return api.post("/threads/search", body, format="json")


def ids(response: Any) -> list[str]:
    return [t["thread_id"] for t in response.json()]


@pytest.fixture
def threads() -> list[Thread]:
    """Five threads, oldest first."""
    rows = [
        Thread.objects.create(
            metadata={"user": "ann", "n": 1, "tags": ["a"], "org": {"id": 7, "name": "x"}}
        ),
        Thread.objects.create(
            metadata={"user": "bob", "n": 2, "flag": True}, status=ThreadStatus.BUSY
        ),
        Thread.objects.create(metadata={"user": "ann", "n": 3, "none": None, "a__b": "literal"}),
        Thread.objects.create(
            metadata={"user": "cy"},
            values={"topic": "weather", "count": 2},
            status=ThreadStatus.INTERRUPTED,
        ),
        Thread.objects.create(
            metadata={"user": "ann", "org": {"id": 8}}, status=ThreadStatus.ERROR
        ),
    ]
    return rows


def test_search_returns_newest_first_with_total(api: APIClient, threads: list[Thread]) -> None:
    response = search(api, {})

    assert response.status_code == 200
    assert ids(response) == [str(t.pk) for t in reversed(threads)]
    assert response["X-Pagination-Total"] == "5"
    assert "X-Pagination-Next" not in response
    assert set(response.json()[0]) == {
        "thread_id",
        "created_at",
        "updated_at",
        "state_updated_at",
        "metadata",
        "status",
        "config",
        "values",
        "interrupts",
        "error",
    }


def test_search_pages_with_next_offset(api: APIClient, threads: list[Thread]) -> None:
    first = search(api, {"limit": 2})
    second = search(api, {"limit": 2, "offset": 2})
    last = search(api, {"limit": 2, "offset": 4})
    beyond = search(api, {"limit": 2, "offset": 10})

    newest_first = [str(t.pk) for t in reversed(threads)]
    assert ids(first) == newest_first[:2]
    assert (first["X-Pagination-Total"], first["X-Pagination-Next"]) == ("5", "2")
    assert ids(second) == newest_first[2:4]
    assert second["X-Pagination-Next"] == "4"
    assert ids(last) == newest_first[4:]
    assert "X-Pagination-Next" not in last
    assert beyond.json() == []
    assert beyond["X-Pagination-Total"] == "5"


@pytest.mark.parametrize(
    ("metadata", "expected"),
    [
        ({"user": "ann"}, [4, 2, 0]),
        ({"user": "ann", "n": 3}, [2]),
        ({"n": 2, "flag": True}, [1]),
        ({"tags": ["a"]}, [0]),
        ({"org": {"id": 7}}, [0]),
        ({"org": {}}, [4, 0]),
        ({"none": None}, [2]),
        ({"a__b": "literal"}, [2]),
        ({"user": "nobody"}, []),
        ({"missing": "x"}, []),
        ({}, [4, 3, 2, 1, 0]),
    ],
)
def test_search_by_metadata_containment(
    api: APIClient, threads: list[Thread], metadata: dict[str, Any], expected: list[int]
) -> None:
    response = search(api, {"metadata": metadata})

    assert response.status_code == 200
    assert ids(response) == [str(threads[i].pk) for i in expected]
    assert response["X-Pagination-Total"] == str(len(expected))


def test_search_by_values_status_and_ids(api: APIClient, threads: list[Thread]) -> None:
    assert ids(search(api, {"values": {"topic": "weather"}})) == [str(threads[3].pk)]
    assert ids(search(api, {"values": {"topic": "rain"}})) == []
    assert ids(search(api, {"status": "busy"})) == [str(threads[1].pk)]
    assert ids(
        search(api, {"ids": [str(threads[0].pk), str(threads[2].pk), str(uuid.uuid4())]})
    ) == [
        str(threads[2].pk),
        str(threads[0].pk),
    ]
    assert ids(search(api, {"ids": [str(threads[0].pk)], "metadata": {"user": "bob"}})) == []


@pytest.mark.parametrize(
    "sort_by", ["thread_id", "status", "created_at", "updated_at", "state_updated_at"]
)
@pytest.mark.parametrize("sort_order", ["asc", "desc"])
def test_search_sorts(api: APIClient, threads: list[Thread], sort_by: str, sort_order: str) -> None:
    response = search(api, {"sort_by": sort_by, "sort_order": sort_order})

    rows = sorted(threads, key=lambda t: (getattr(t, sort_by), t.pk), reverse=sort_order == "desc")
    assert ids(response) == [str(t.pk) for t in rows]


def test_search_select_returns_only_those_fields(api: APIClient, threads: list[Thread]) -> None:
    response = search(api, {"select": ["thread_id", "status"], "limit": 1})

    assert response.json() == [{"thread_id": str(threads[-1].pk), "status": "error"}]


def test_search_extract_adds_values_at_paths(api: APIClient, threads: list[Thread]) -> None:
    Thread.objects.filter(pk=threads[3].pk).update(
        values={"messages": [{"content": "a"}, {"content": "b"}]}
    )
    extract = {
        "last": "values.messages[-1].content",
        "first": "values.messages[0]",
        "user": "metadata.user",
        "gone": "values.messages[5]",
        "deep": "metadata.user.name",
    }

    response = search(
        api, {"ids": [str(threads[3].pk)], "select": ["thread_id"], "extract": extract}
    )

    assert response.json() == [
        {
            "thread_id": str(threads[3].pk),
            "extracted": {
                "last": "b",
                "first": {"content": "a"},
                "user": "cy",
                "gone": None,
                "deep": None,
            },
        }
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"extract": {"x": "secret.key"}}, "extract"),
        ({"extract": {str(i): "values" for i in range(11)}}, "extract"),
        ({"limit": 0}, "limit"),
        ({"limit": 1001}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"status": "bogus"}, "status"),
        ({"sort_by": "name"}, "sort_by"),
        ({"sort_order": "up"}, "sort_order"),
        ({"ids": ["nope"]}, "ids.0"),
        ({"ids": "nope"}, "ids"),
        ({"metadata": 5}, "metadata"),
        ({"values": []}, "values"),
        ({"select": ["secret"]}, "select.0"),
    ],
)
def test_search_with_invalid_body_is_422_naming_the_field(
    api: APIClient, threads: list[Thread], body: dict[str, Any], field: str
) -> None:
    response = search(api, body)

    assert response.status_code == 422
    assert response.json()["detail"].startswith(f"{field}: ")


def test_search_with_malformed_json_is_422(api: APIClient) -> None:
    response = api.generic("POST", "/threads/search", b"[", content_type="application/json")

    assert response.status_code == 422
    assert response.json() == {"detail": "Invalid JSON in request body"}


def test_count_returns_a_bare_integer(api: APIClient, threads: list[Thread]) -> None:
    assert api.post("/threads/count", {}, format="json").json() == 5
    response = api.post(
        "/threads/count", {"metadata": {"user": "ann"}, "status": "idle"}, format="json"
    )
    assert response.status_code == 200
    assert response.content == b"2"
    assert api.post("/threads/count", {"values": {"count": 2}}, format="json").json() == 1


def test_count_with_invalid_status_is_422(api: APIClient) -> None:
    response = api.post("/threads/count", {"status": "asleep"}, format="json")

    assert response.status_code == 422
    assert response.json()["detail"] == 'status: "asleep" is not a valid choice.'


def test_selectors_search_and_count_agree(threads: list[Thread]) -> None:
    rows, total = thread_search(metadata={"user": "ann"}, limit=2, offset=0)

    assert total == 3 == thread_count(metadata={"user": "ann"})
    assert [t.pk for t in rows] == [threads[4].pk, threads[2].pk]
