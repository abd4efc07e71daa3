"""The assistants API through DRF's test client: statuses, exact bodies, and no writes on failure."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from langgraph_sdk import schema as sdk_schema
from rest_framework.test import APIClient

from assistants.graphs import default_assistant_id
from assistants.models import Assistant
from assistants.services import assistant_ensure_defaults

pytestmark = pytest.mark.django_db

Counts = Callable[[], dict[str, int]]


def no_assistants(counts: dict[str, int]) -> bool:
    return counts["Assistant"] == counts["AssistantVersion"] == 0


UNKNOWN_GRAPH = "Graph 'nope' not found. Expected one of: ['agent', 'echo', 'interruptible']"


def iso(value: datetime.datetime) -> str:
    return value.astimezone(datetime.UTC).isoformat()


def as_json(assistant: Assistant) -> dict[str, Any]:
    """What the API must answer for this row."""
    assistant.refresh_from_db()
    return {
        "assistant_id": str(assistant.assistant_id),
        "graph_id": assistant.graph_id,
        "config": assistant.config,
        "context": assistant.context,
        "metadata": assistant.metadata,
        "name": assistant.name,
        "created_at": iso(assistant.created_at),
        "updated_at": iso(assistant.updated_at),
        "version": assistant.version,
        "description": assistant.description,
    }


def post(api: APIClient, url: str, body: Any) -> Any:
    return api.post(url, body, format="json")


def raw_post(api: APIClient, url: str, content: str) -> Any:
    return api.generic("POST", url, content, content_type="application/json")


# --- create -------------------------------------------------------------------------


def test_create_with_defaults(api: APIClient) -> None:
    response = post(api, "/assistants", {"graph_id": "agent"})
    assert response.status_code == 200
    body = response.json()
    row = Assistant.objects.get()
    assert body == as_json(row)
    assert {
        k: body[k]
        for k in ("graph_id", "config", "context", "metadata", "name", "version", "description")
    } == {
        "graph_id": "agent",
        "config": {},
        "context": {},
        "metadata": {},
        "name": "Untitled",
        "version": 1,
        "description": None,
    }
    assert uuid.UUID(body["assistant_id"]).version == 4
    assert body["created_at"].endswith("+00:00")
    assert list(row.versions.values_list("version", flat=True)) == [1]


def test_create_with_every_field_and_configurable_as_context(api: APIClient) -> None:
    assistant_id = str(uuid.uuid4())
    response = post(
        api,
        "/assistants",
        {
            "graph_id": "echo",
            "assistant_id": assistant_id,
            "config": {"configurable": {"delay": 0}, "tags": ["x"]},
            "metadata": {"team": "a"},
            "name": "Echo bot",
            "description": "says it back",
        },
    )
    assert response.status_code == 200
    assert response.json() == {
        **as_json(Assistant.objects.get(pk=assistant_id)),
        "assistant_id": assistant_id,
        "graph_id": "echo",
        "config": {"configurable": {"delay": 0}, "tags": ["x"]},
        "context": {"delay": 0},
        "metadata": {"team": "a"},
        "name": "Echo bot",
        "description": "says it back",
        "version": 1,
    }


def test_create_with_an_unknown_graph_is_404_and_writes_nothing(
    api: APIClient, row_counts: Counts
) -> None:
    response = post(api, "/assistants", {"graph_id": "nope"})
    assert (response.status_code, response.json()) == (404, {"detail": UNKNOWN_GRAPH})
    assert no_assistants(row_counts())


def test_create_with_an_existing_id_is_409_or_returns_it_with_do_nothing(
    api: APIClient, row_counts: Counts
) -> None:
    assistant_id = post(api, "/assistants", {"graph_id": "agent", "name": "first"}).json()[
        "assistant_id"
    ]
    before = row_counts()

    conflict = post(api, "/assistants", {"graph_id": "agent", "assistant_id": assistant_id})
    assert (conflict.status_code, conflict.json()) == (
        409,
        {"detail": f"Assistant {assistant_id} already exists"},
    )
    existing = post(
        api,
        "/assistants",
        {"graph_id": "echo", "assistant_id": assistant_id, "if_exists": "do_nothing", "name": "x"},
    )
    assert existing.status_code == 200
    assert existing.json() == as_json(Assistant.objects.get(pk=assistant_id))
    assert existing.json()["name"] == "first"
    assert row_counts() == before


@pytest.mark.parametrize(
    ("content", "status", "detail"),
    [
        ("{not json", 422, "Invalid JSON in request body"),
        ("", 422, "Invalid JSON in request body"),
        ("{}", 422, "graph_id: This field is required."),
        (
            '{"graph_id": "agent", "if_exists": "bogus"}',
            422,
            'if_exists: "bogus" is not a valid choice.',
        ),
        (
            '{"graph_id": "agent", "config": []}',
            422,
            'config: Expected a dictionary of items but got type "list".',
        ),
        (
            '{"graph_id": "agent", "metadata": "x"}',
            422,
            'metadata: Expected a dictionary of items but got type "str".',
        ),
        (
            '{"graph_id": "agent", "assistant_id": "abc"}',
            422,
            "assistant_id: Must be a valid UUID.",
        ),
        (
            '{"graph_id": 5}',
            404,
            "Graph '5' not found. Expected one of: ['agent', 'echo', 'interruptible']",
        ),
        ("[1, 2]", 422, "Invalid data. Expected a dictionary, but got list."),
    ],
)
def test_create_rejects_bad_bodies_and_writes_nothing(
    api: APIClient, row_counts: Counts, content: str, status: int, detail: str
) -> None:
    response = raw_post(api, "/assistants", content)
    assert response.status_code == status
    assert response.json()["detail"] == detail
    assert no_assistants(row_counts())


def test_validation_errors_also_list_field_locations(api: APIClient) -> None:
    response = raw_post(api, "/assistants", '{"graph_id": "agent", "if_exists": "bogus"}')
    assert response.json() == {
        "detail": 'if_exists: "bogus" is not a valid choice.',
        "errors": [{"loc": ["if_exists"], "msg": '"bogus" is not a valid choice.'}],
    }


# --- get / patch / delete -----------------------------------------------------------


def test_get_returns_the_assistant(api: APIClient) -> None:
    assistant_ensure_defaults()
    agent = Assistant.objects.get(pk=default_assistant_id("agent"))
    response = api.get(f"/assistants/{agent.assistant_id}")
    assert (response.status_code, response.json()) == (200, as_json(agent))
    assert response.json()["metadata"] == {"created_by": "system"}


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
def test_a_path_id_that_is_not_a_uuid_is_422(
    api: APIClient, row_counts: Counts, method: str
) -> None:
    assistant_ensure_defaults()
    before = row_counts()
    response = getattr(api, method)("/assistants/agent", {"name": "x"}, format="json")
    assert (response.status_code, response.json()) == (
        422,
        {"detail": "Invalid assistant ID: must be a UUID"},
    )
    assert row_counts() == before


@pytest.mark.parametrize(
    ("method", "url", "detail"),
    [
        ("get", "/assistants/{id}", "Not Found"),
        ("patch", "/assistants/{id}", "Assistant {id} not found"),
        ("delete", "/assistants/{id}", "Assistant with ID {id} not found"),
        ("post", "/assistants/{id}/versions", "Assistant {id} not found"),
        ("post", "/assistants/{id}/latest", "Assistant {id} not found"),
        ("get", "/assistants/{id}/graph", "Not Found"),
        ("get", "/assistants/{id}/schemas", "Not Found"),
        ("get", "/assistants/{id}/subgraphs", "Not Found"),
    ],
)
def test_unknown_assistants_are_404_with_the_official_texts(
    api: APIClient, row_counts: Counts, method: str, url: str, detail: str
) -> None:
    unknown = str(uuid.uuid4())
    body = {"version": 1} if url.endswith("latest") else {"name": "x"}
    response = getattr(api, method)(url.format(id=unknown), body, format="json")
    assert (response.status_code, response.json()) == (404, {"detail": detail.format(id=unknown)})
    assert no_assistants(row_counts())


def test_patch_bumps_the_version_and_keeps_what_it_does_not_name(api: APIClient) -> None:
    created = post(
        api,
        "/assistants",
        {
            "graph_id": "agent",
            "name": "n",
            "description": "d",
            "metadata": {"a": 1},
            "config": {"tags": ["t"]},
        },
    ).json()
    response = api.patch(
        f"/assistants/{created['assistant_id']}", {"metadata": {"b": 2}}, format="json"
    )
    assert response.status_code == 200
    body = response.json()
    assert body == as_json(Assistant.objects.get(pk=created["assistant_id"]))
    assert body == {
        **created,
        "metadata": {"a": 1, "b": 2},
        "version": 2,
        "updated_at": body["updated_at"],
    }
    assert body["updated_at"] >= created["updated_at"]


def test_patch_with_a_bad_body_or_unknown_graph_writes_nothing(
    api: APIClient, row_counts: Counts
) -> None:
    created = post(api, "/assistants", {"graph_id": "agent"}).json()
    url = f"/assistants/{created['assistant_id']}"
    before = row_counts()
    bad_type = api.patch(url, {"config": "x"}, format="json")
    assert (bad_type.status_code, bad_type.json()["detail"]) == (
        422,
        'config: Expected a dictionary of items but got type "str".',
    )
    unknown_graph = api.patch(url, {"graph_id": "nope"}, format="json")
    assert (unknown_graph.status_code, unknown_graph.json()) == (404, {"detail": UNKNOWN_GRAPH})
    malformed = api.generic("PATCH", url, "{", content_type="application/json")
    assert (malformed.status_code, malformed.json()) == (
        422,
        {"detail": "Invalid JSON in request body"},
    )
    assert row_counts() == before
    assert api.get(url).json() == created


def test_delete_answers_204_then_404(api: APIClient, row_counts: Counts) -> None:
    assistant_id = post(api, "/assistants", {"graph_id": "agent"}).json()["assistant_id"]
    api.patch(f"/assistants/{assistant_id}", {"name": "v2"}, format="json")
    response = api.delete(f"/assistants/{assistant_id}")
    assert (response.status_code, response.content) == (204, b"")
    assert no_assistants(row_counts())  # its versions go with it
    assert api.get(f"/assistants/{assistant_id}").status_code == 404


# --- versions / latest --------------------------------------------------------------


def test_versions_list_newest_first_and_latest_switches_back(
    api: APIClient, row_counts: Counts
) -> None:
    created = post(
        api, "/assistants", {"graph_id": "agent", "name": "one", "metadata": {"v": 1}}
    ).json()
    assistant_id = created["assistant_id"]
    api.patch(f"/assistants/{assistant_id}", {"name": "two", "metadata": {"v": 2}}, format="json")

    versions = post(api, f"/assistants/{assistant_id}/versions", {}).json()
    assert [(v["version"], v["name"], v["metadata"]) for v in versions] == [
        (2, "two", {"v": 2}),
        (1, "one", {"v": 1}),
    ]
    version_keys = (
        sdk_schema.AssistantVersion.__required_keys__
        | sdk_schema.AssistantVersion.__optional_keys__
    )
    assert set(versions[0]) == set(version_keys)
    assert versions[1]["assistant_id"] == assistant_id
    filtered = post(
        api, f"/assistants/{assistant_id}/versions", {"metadata": {"v": 1}, "limit": 5}
    ).json()
    assert [v["version"] for v in filtered] == [1]
    paged = post(api, f"/assistants/{assistant_id}/versions", {"limit": 1, "offset": 1}).json()
    assert [v["version"] for v in paged] == [1]
    no_body = api.post(f"/assistants/{assistant_id}/versions")
    assert [v["version"] for v in no_body.json()] == [2, 1]

    before = row_counts()
    latest = post(api, f"/assistants/{assistant_id}/latest", {"version": 1})
    assert latest.status_code == 200
    assert latest.json() == {
        **as_json(Assistant.objects.get(pk=assistant_id)),
        "name": "one",
        "version": 1,
        "metadata": {"v": 1},
    }
    assert row_counts() == before
    by_query = api.post(f"/assistants/{assistant_id}/latest?version=2")
    assert (by_query.status_code, by_query.json()["name"]) == (200, "two")

    missing = post(api, f"/assistants/{assistant_id}/latest", {"version": 7})
    assert (missing.status_code, missing.json()) == (
        404,
        {"detail": f"Version 7 not found for assistant {assistant_id}"},
    )
    no_version = post(api, f"/assistants/{assistant_id}/latest", {})
    assert (no_version.status_code, no_version.json()["detail"]) == (
        422,
        "version: This field is required.",
    )
    bad_limit = post(api, f"/assistants/{assistant_id}/versions", {"limit": 0})
    assert (bad_limit.status_code, bad_limit.json()["detail"]) == (
        422,
        "limit: Ensure this value is greater than or equal to 1.",
    )


# --- search / count -----------------------------------------------------------------


def test_search_returns_newest_first_with_pagination_headers(api: APIClient) -> None:
    assistant_ensure_defaults()
    mine = [
        post(
            api,
            "/assistants",
            {"graph_id": "echo", "name": f"mine {i}", "metadata": {"owner": "me"}},
        ).json()
        for i in range(3)
    ]

    everything = post(api, "/assistants/search", {})
    assert everything.status_code == 200
    assert everything.headers["X-Pagination-Total"] == "6"
    assert "X-Pagination-Next" not in everything.headers
    assert everything.json()[:3] == mine[::-1]

    page = post(api, "/assistants/search", {"limit": 2, "offset": 1})
    assert [a["assistant_id"] for a in page.json()] == [
        mine[1]["assistant_id"],
        mine[0]["assistant_id"],
    ]
    assert (page.headers["X-Pagination-Total"], page.headers["X-Pagination-Next"]) == ("6", "3")

    by_metadata = post(api, "/assistants/search", {"metadata": {"owner": "me"}, "graph_id": "echo"})
    assert [a["name"] for a in by_metadata.json()] == ["mine 2", "mine 1", "mine 0"]
    system = post(
        api,
        "/assistants/search",
        {"metadata": {"created_by": "system"}, "sort_by": "name", "sort_order": "asc"},
    )
    assert [a["name"] for a in system.json()] == ["agent", "echo", "interruptible"]
    by_name = post(api, "/assistants/search", {"name": "MINE 1"})
    assert [a["assistant_id"] for a in by_name.json()] == [mine[1]["assistant_id"]]
    selected = post(
        api, "/assistants/search", {"graph_id": "agent", "select": ["assistant_id", "name"]}
    )
    assert selected.json() == [
        {"assistant_id": str(default_assistant_id("agent")), "name": "agent"}
    ]
    assert post(api, "/assistants/search", {"graph_id": "nope"}).json() == []


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        ({"limit": 0}, "limit: Ensure this value is greater than or equal to 1."),
        ({"limit": 1001}, "limit: Ensure this value is less than or equal to 1000."),
        ({"offset": -1}, "offset: Ensure this value is greater than or equal to 0."),
        ({"sort_by": "bogus"}, 'sort_by: "bogus" is not a valid choice.'),
        ({"sort_order": "up"}, 'sort_order: "up" is not a valid choice.'),
        ({"metadata": []}, 'metadata: Expected a dictionary of items but got type "list".'),
        ({"limit": "many"}, "limit: A valid integer is required."),
    ],
)
def test_search_rejects_bad_parameters(api: APIClient, body: dict[str, Any], detail: str) -> None:
    response = post(api, "/assistants/search", body)
    assert (response.status_code, response.json()["detail"]) == (422, detail)


def test_count_answers_a_bare_integer(api: APIClient) -> None:
    assistant_ensure_defaults()
    post(api, "/assistants", {"graph_id": "echo", "name": "Mine", "metadata": {"owner": "me"}})
    assert (
        post(api, "/assistants/count", {}).status_code,
        post(api, "/assistants/count", {}).content,
    ) == (200, b"4")
    assert post(api, "/assistants/count", {"graph_id": "echo"}).json() == 2
    assert post(api, "/assistants/count", {"metadata": {"owner": "me"}}).json() == 1
    assert post(api, "/assistants/count", {"name": "mine"}).json() == 1
    assert raw_post(api, "/assistants/count", "{").json() == {
        "detail": "Invalid JSON in request body"
    }


# --- graph / schemas / subgraphs ----------------------------------------------------


def test_graph_of_the_weather_agent(api: APIClient) -> None:
    assistant_ensure_defaults()
    response = api.get(f"/assistants/{default_assistant_id('agent')}/graph")
    assert response.status_code == 200
    body = response.json()
    assert [n["id"] for n in body["nodes"]] == ["__start__", "agent", "tools", "__end__"]
    assert sorted(
        (e["source"], e["target"], e.get("conditional", False)) for e in body["edges"]
    ) == [
        ("__start__", "agent", False),
        ("agent", "__end__", True),
        ("agent", "tools", True),
        ("tools", "agent", False),
    ]
    assert api.get(f"/assistants/{default_assistant_id('agent')}/graph?xray=1").json() == body
    # Like the official server, the introspection routes also take a graph id.
    assert api.get("/assistants/agent/graph?xray=true").json() == body
    bad = api.get("/assistants/agent/graph?xray=maybe")
    assert (bad.status_code, bad.json()["detail"]) == (
        422,
        "xray: Must be a boolean or an integer.",
    )


def test_schemas_of_an_assistant(api: APIClient) -> None:
    assistant_ensure_defaults()
    response = api.get(f"/assistants/{default_assistant_id('echo')}/schemas")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == set(sdk_schema.GraphSchema.__annotations__)
    assert body["graph_id"] == "echo"
    assert body["input_schema"]["title"] == "MessagesState"
    assert body["output_schema"]["title"] == "MessagesState"
    assert list(body["state_schema"]["properties"]) == ["messages"]
    assert body["config_schema"]["type"] == "object"
    assert body["context_schema"] is None


def test_subgraphs_of_a_flat_graph_are_empty(api: APIClient) -> None:
    assistant_ensure_defaults()
    url = f"/assistants/{default_assistant_id('interruptible')}/subgraphs"
    assert (api.get(url).status_code, api.get(url).json()) == (200, {})
    assert api.get(url + "?recurse=true").json() == {}
    assert api.get(url + "/some/namespace").json() == {}


# --- shapes -------------------------------------------------------------------------


def test_response_keys_match_the_sdk_assistant_typeddict(api: APIClient) -> None:
    body = post(api, "/assistants", {"graph_id": "agent"}).json()
    expected = set(sdk_schema.Assistant.__required_keys__) | set(
        sdk_schema.Assistant.__optional_keys__
    )
    assert set(body) == expected
    assert isinstance(body["version"], int)
    datetime.datetime.fromisoformat(body["created_at"])
    datetime.datetime.fromisoformat(body["updated_at"])


def test_wrong_method_is_405(api: APIClient) -> None:
    response = api.get("/assistants")
    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
