"""Delete threads with their runs and checkpoints; active runs are rolled back first."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.commands import SpindleCommand, plural
from core.errors import SpindleError
from runs.services import thread_delete
from threads.counts import add_counts, deleted_counts, describe_counts


class Command(SpindleCommand):
    help = "Delete threads, their runs and every checkpoint (active runs are rolled back)."
    destructive = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "thread_ids", nargs="+", type=uuid.UUID, metavar="thread_id", help="a thread to delete"
        )

    def handle(self, *args: Any, thread_ids: list[uuid.UUID], **options: Any) -> None:
        self.confirm(
            f"Delete {plural(len(thread_ids), 'thread')} with their runs and checkpoints?", options
        )
        total, done, failed = deleted_counts(), 0, []
        for thread_id in dict.fromkeys(thread_ids):
            try:
                total = add_counts(total, thread_delete(thread_id=thread_id))
            except SpindleError as exc:
                failed.append(f"thread {thread_id}: {exc.detail}")
                continue
            done += 1
        self.stdout.write(f"Deleted {plural(done, 'thread')} with {describe_counts(total)}.")
        if failed:
            raise CommandError(f"{plural(len(failed), 'thread')} not deleted: " + "; ".join(failed))
