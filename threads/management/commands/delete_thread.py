"""Delete threads with their runs and checkpoints; active runs are rolled back first."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import SpindleError
from threads import services


class Command(BaseCommand):
    help = "Delete threads, their runs and every checkpoint (active runs are rolled back)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("thread_ids", nargs="+", type=uuid.UUID, metavar="thread_id")
        parser.add_argument("--no-input", action="store_true", help="do not ask for confirmation")

    def handle(
        self, *args: Any, thread_ids: list[uuid.UUID], no_input: bool, **options: Any
    ) -> None:
        if not no_input:
            answer = input(
                f"Delete {len(thread_ids)} thread(s) with their runs and checkpoints? [y/N] "
            )
            if answer.strip().lower() not in {"y", "yes"}:
                raise CommandError("Aborted")
        failed = []
        for thread_id in thread_ids:
            try:
                services.thread_delete(thread_id=thread_id)
            except SpindleError as exc:
                failed.append(exc.detail)
        if failed:
            raise CommandError("; ".join(failed))
        self.stdout.write(f"Deleted {len(thread_ids)} thread(s)")
