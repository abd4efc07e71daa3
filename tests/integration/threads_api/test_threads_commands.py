"""delete_thread and prune_threads call the same services as the API."""

from __future__ import annotations

import uuid
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from threads.models import Checkpoint, Thread

pytestmark = pytest.mark.django_db


def test_delete_thread_deletes_threads_and_their_checkpoints() -> None:
    threads = [Thread.objects.create() for _ in range(2)]
    Checkpoint.objects.create(
        thread_id=str(threads[0].pk), checkpoint_id="c", type="msgpack", checkpoint=b"x"
    )
    out = StringIO()

    call_command("delete_thread", *(str(t.pk) for t in threads), "--no-input", stdout=out)

    assert out.getvalue() == "Deleted 2 threads with 0 runs, 1 checkpoint and 0 pending writes.\n"
    assert not Thread.objects.exists()
    assert not Checkpoint.objects.exists()


def test_delete_thread_of_unknown_thread_fails() -> None:
    thread_id = uuid.uuid4()

    with pytest.raises(CommandError, match=f"Thread with ID {thread_id} not found"):
        call_command("delete_thread", str(thread_id), "--no-input")


def test_prune_threads_reports_how_many_were_pruned_and_which_were_missing() -> None:
    thread = Thread.objects.create()
    missing = uuid.uuid4()
    out = StringIO()

    with pytest.raises(CommandError, match="1 thread not found"):
        call_command("prune_threads", str(thread.pk), str(missing), "--no-input", stdout=out)

    assert out.getvalue() == (
        "Pruned 1 thread of 1 (delete): deleted 0 runs, 0 checkpoints and 0 pending writes.\n"
    )
    assert not Thread.objects.exists()


def test_delete_thread_without_input_to_confirm_does_nothing() -> None:
    thread = Thread.objects.create()

    with pytest.raises(CommandError, match="Pass --no-input"):
        call_command("delete_thread", str(thread.pk))

    assert Thread.objects.filter(pk=thread.pk).exists()
