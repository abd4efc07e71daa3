"""The assistants admin: read-only pages, search by id and name, deletes through the service."""

from __future__ import annotations

import pytest
from django.test import Client

from assistants.graphs import default_assistant_id
from assistants.models import Assistant, AssistantVersion
from assistants.services import assistant_create, assistant_ensure_defaults

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(admin_client: Client) -> Client:
    assistant_ensure_defaults()
    return admin_client


def test_changelist_lists_and_searches_by_name_and_id(staff: Client) -> None:
    page = staff.get("/admin/assistants/assistant/")
    assert page.status_code == 200
    assert b"interruptible" in page.content
    by_name = staff.get("/admin/assistants/assistant/", {"q": "interrupt"})
    assert by_name.context["cl"].result_count == 1
    by_id = staff.get("/admin/assistants/assistant/", {"q": str(default_assistant_id("echo"))})
    assert [a.graph_id for a in by_id.context["cl"].result_list] == ["echo"]


def test_assistants_are_read_only_in_the_admin(staff: Client) -> None:
    assistant_id = default_assistant_id("agent")
    assert staff.get("/admin/assistants/assistant/add/").status_code == 403
    change = staff.get(f"/admin/assistants/assistant/{assistant_id}/change/")
    assert change.status_code == 200
    staff.post(f"/admin/assistants/assistant/{assistant_id}/change/", {"name": "hacked"})
    assert Assistant.objects.get(pk=assistant_id).name == "agent"


def test_deletes_go_through_the_service_and_take_the_versions(staff: Client) -> None:
    mine = assistant_create(graph_id="echo", name="mine")
    response = staff.post(f"/admin/assistants/assistant/{mine.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert not Assistant.objects.filter(pk=mine.pk).exists()
    ids = [str(default_assistant_id(g)) for g in ("agent", "echo")]
    staff.post(
        "/admin/assistants/assistant/",
        {"action": "delete_selected", "_selected_action": ids, "post": "yes"},
    )
    assert list(Assistant.objects.values_list("graph_id", flat=True)) == ["interruptible"]
    assert AssistantVersion.objects.count() == 1
