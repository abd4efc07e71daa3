"""Delete runs of a thread with their checkpoints; an active run is rolled back."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.commands import SpindleCommand, plural
from core.errors import SpindleError
from runs import services
from threads.counts import add_counts, deleted_counts, describe_counts


class Command(SpindleCommand):
    help = "Delete runs of a thread and every checkpoint they wrote (an active run is rolled back)."
    destructive = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("thread_id", type=uuid.UUID, help="the thread the runs belong to")
        parser.add_argument(
            "run_ids", nargs="+", type=uuid.UUID, metavar="run_id", help="a run to delete"
        )

    def handle(
        self, *args: Any, thread_id: uuid.UUID, run_ids: list[uuid.UUID], **options: Any
    ) -> None:
        self.confirm(
            f"Delete {plural(len(run_ids), 'run')} of thread {thread_id} with their checkpoints?",
            options,
        )
        total, failed = deleted_counts(), []
        for run_id in dict.fromkeys(run_ids):
            try:
                deleted = services.run_delete(thread_id=thread_id, run_id=run_id)
            except SpindleError as exc:
                failed.append(f"run {run_id}: {exc.detail}")
                continue
            total = add_counts(total, deleted)
            self.stdout.write(f"Run {run_id}: deleted")
        self.stdout.write(f"Deleted {describe_counts(total)}.")
        if failed:
            raise CommandError(f"{plural(len(failed), 'run')} not deleted: " + "; ".join(failed))
