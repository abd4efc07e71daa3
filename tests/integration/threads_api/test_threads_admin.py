"""The threads admin is read-only, and deleting a thread there goes through thread_delete."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client

from threads.models import Checkpoint, CheckpointWrite, Thread

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client: Client) -> Client:
    # No password: hashing one is slow, and force_login needs none.
    client.force_login(User.objects.create(username="admin", is_staff=True, is_superuser=True))
    return client


@pytest.fixture
def thread() -> Thread:
    thread = Thread.objects.create(metadata={"graph_id": "echo"})
    Checkpoint.objects.create(
        thread_id=str(thread.pk), checkpoint_id="c1", type="msgpack", checkpoint=b"x"
    )
    CheckpointWrite.objects.create(
        thread_id=str(thread.pk),
        checkpoint_id="c1",
        task_id="t",
        idx=0,
        channel="messages",
        type="msgpack",
    )
    return thread


@pytest.mark.parametrize("model", ["thread", "checkpoint", "checkpointwrite"])
def test_changelists_render_without_add(staff: Client, thread: Thread, model: str) -> None:
    listing = staff.get(f"/admin/threads/{model}/")
    search = staff.get(f"/admin/threads/{model}/", {"q": str(thread.pk)})
    add = staff.get(f"/admin/threads/{model}/add/")

    assert listing.status_code == 200
    assert search.status_code == 200
    assert str(thread.pk) in search.content.decode()
    assert add.status_code == 403


def test_thread_change_page_is_read_only(staff: Client, thread: Thread) -> None:
    response = staff.get(f"/admin/threads/thread/{thread.pk}/change/")
    posted = staff.post(f"/admin/threads/thread/{thread.pk}/change/", {"status": "error"})

    assert response.status_code == 200
    assert 'name="status"' not in response.content.decode()
    assert posted.status_code == 403
    thread.refresh_from_db()
    assert thread.status == "idle"


def test_checkpoint_page_hides_the_blob_and_cannot_delete(staff: Client, thread: Thread) -> None:
    checkpoint = Checkpoint.objects.get()

    page = staff.get(f"/admin/threads/checkpoint/{checkpoint.pk}/change/")
    delete = staff.get(f"/admin/threads/checkpoint/{checkpoint.pk}/delete/")

    assert page.status_code == 200
    assert "Checkpoint id:" in page.content.decode()
    assert "Checkpoint:" not in page.content.decode()
    assert delete.status_code == 403


def test_deleting_a_thread_in_the_admin_deletes_its_checkpoints(
    staff: Client, thread: Thread
) -> None:
    response = staff.post(f"/admin/threads/thread/{thread.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not Thread.objects.exists()
    assert not Checkpoint.objects.exists()
    assert not CheckpointWrite.objects.exists()


def test_bulk_delete_action_goes_through_the_service(staff: Client, thread: Thread) -> None:
    other = Thread.objects.create()
    keep = Thread.objects.create()
    Checkpoint.objects.create(
        thread_id=str(other.pk), checkpoint_id="c1", type="msgpack", checkpoint=b"x"
    )

    response = staff.post(
        "/admin/threads/thread/",
        {
            "action": "delete_selected",
            "_selected_action": [str(thread.pk), str(other.pk)],
            "post": "yes",
        },
    )

    assert response.status_code == 302
    assert list(Thread.objects.values_list("pk", flat=True)) == [keep.pk]
    assert not Checkpoint.objects.exists()
