"""AsyncApi (core/views.py): Django dispatches by method; 405, HEAD, OPTIONS and 204 answers."""

from __future__ import annotations

import pytest
from django.test import Client

from threads.models import Thread

pytestmark = pytest.mark.django_db


def _new_thread(client: Client) -> str:
    """A thread made as a user makes one: through the API."""
    response = client.post("/threads", data=b"{}", content_type="application/json")
    assert response.status_code == 200, response.content
    return response.json()["thread_id"]


def test_a_method_the_path_does_not_serve_is_405_naming_the_allowed_ones(client: Client) -> None:
    thread_id = _new_thread(client)

    response = client.put(f"/threads/{thread_id}/runs", data=b"{}", content_type="application/json")

    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response["Allow"] == "GET, POST, HEAD"


def test_options_that_is_no_cors_preflight_is_405(client: Client) -> None:
    response = client.options("/threads")

    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response["Allow"] == "POST"


def test_head_is_served_where_get_is(client: Client) -> None:
    thread_id = _new_thread(client)

    assert client.head(f"/threads/{thread_id}").status_code == 200
    assert client.head("/threads").status_code == 405


def test_a_delete_answers_204_without_a_content_type(client: Client) -> None:
    thread_id = _new_thread(client)

    response = client.delete(f"/threads/{thread_id}")

    assert response.status_code == 204
    assert "Content-Type" not in response.headers
    assert not Thread.objects.filter(pk=thread_id).exists()


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("put", "/runs/crons/search", "POST"),
        ("options", "/runs/crons/00000000-0000-4000-8000-000000000001", "GET, PATCH, DELETE, HEAD"),
        ("post", "/store/items", "GET, PUT, DELETE, HEAD"),
        ("options", "/store/namespaces", "POST"),
    ],
)
def test_cron_and_store_paths_answer_methods_as_every_asyncapi_path(
    client: Client, method: str, path: str, allow: str
) -> None:
    """They were DRF views, which answered OPTIONS with a description of the view."""
    response = client.generic(method.upper(), path, b"", content_type="application/json")

    assert (response.status_code, response.json()) == (405, {"detail": "Method Not Allowed"})
    assert response["Allow"] == allow


def test_an_answer_is_json_whatever_accept_says(client: Client) -> None:
    response = client.get("/store/items", {"namespace": "a", "key": "k"}, HTTP_ACCEPT="text/html")

    assert (response.status_code, response["Content-Type"]) == (200, "application/json")
    assert response.json() is None
    assert "Allow" not in response.headers
