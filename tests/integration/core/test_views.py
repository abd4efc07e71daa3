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
