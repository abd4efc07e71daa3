"""Delete a run with its checkpoints; an active run is rolled back."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import SpindleError
from runs import services


class Command(BaseCommand):
    help = "Delete a run and every checkpoint it wrote (an active run is rolled back)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("thread_id", type=uuid.UUID)
        parser.add_argument("run_id", type=uuid.UUID)
        parser.add_argument("--no-input", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, thread_id: uuid.UUID, run_id: uuid.UUID, no_input: bool, **options: Any) -> None:
        if not no_input:
            answer = input(f"Delete run {run_id} and its checkpoints? [y/N] ")
            if answer.strip().lower() not in {"y", "yes"}:
                raise CommandError("Aborted")
        try:
            services.run_delete(thread_id=thread_id, run_id=run_id)
        except SpindleError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"Run {run_id}: deleted")
