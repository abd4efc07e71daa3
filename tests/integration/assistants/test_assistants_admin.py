"""The assistants admin: search by id and name, edits and deletes through the service, the graph drawn."""

from __future__ import annotations

import re

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


def _hidden_inputs(staff: Client, url: str) -> dict[str, str]:
    """The form's hidden fields (the versions inline's management form), as a browser sends them."""
    page = staff.get(url)
    assert page.status_code == 200
    return dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', page.content.decode())
    )


def test_edit_writes_a_new_version_through_the_service(staff: Client) -> None:
    mine = assistant_create(graph_id="agent", name="mine", metadata={"team": "a"})
    url = f"/admin/assistants/assistant/{mine.pk}/change/"
    response = staff.post(
        url,
        {
            **_hidden_inputs(staff, url),
            "graph_id": "agent",
            "name": "renamed",
            "description": "",
            "config": '{"configurable": {"delay": 0.1}}',
            "context": "{}",
            "metadata": '{"team": "b"}',
        },
    )
    assert response.status_code == 302, response.content[:2000]
    mine.refresh_from_db()
    assert (mine.name, mine.version, mine.metadata) == ("renamed", 2, {"team": "b"})
    assert mine.config == {"configurable": {"delay": 0.1}}
    assert list(mine.versions.order_by("version").values_list("name", flat=True)) == [
        "mine",
        "renamed",
    ]


def test_edit_with_malformed_json_writes_nothing(staff: Client) -> None:
    mine = assistant_create(graph_id="echo", name="mine")
    url = f"/admin/assistants/assistant/{mine.pk}/change/"
    page = staff.post(
        url,
        {
            **_hidden_inputs(staff, url),
            "graph_id": "echo",
            "name": "x",
            "config": "{not json",
            "context": "{}",
            "metadata": "{}",
        },
    )
    assert page.status_code == 200
    assert b"Enter a valid JSON" in page.content
    mine.refresh_from_db()
    assert (mine.name, mine.version) == ("mine", 1)


def test_change_page_draws_the_graph_with_the_vendored_mermaid(staff: Client) -> None:
    page = staff.get(f"/admin/assistants/assistant/{default_assistant_id('agent')}/change/")
    html = page.content.decode()
    assert '<pre class="mermaid spindle-graph">' in html
    assert "agent --&gt; tools" in html or "agent -.-&gt; tools" in html
    assert "/static/assistants/mermaid.min.js" in html
    assert "cdn" not in html.lower()


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
