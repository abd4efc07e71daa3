"""Cancel a run: interrupt it (it keeps its checkpoints) or roll it back (it is deleted)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from config.errors import SpindleError
from runs import services
from runs.models import CancelAction


class Command(BaseCommand):
    help = "Cancel an active run: --action interrupt (default) or rollback."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("thread_id", type=uuid.UUID)
        parser.add_argument("run_id", type=uuid.UUID)
        parser.add_argument("--action", choices=CancelAction.values, default=CancelAction.INTERRUPT)

    def handle(self, *args: Any, thread_id: uuid.UUID, run_id: uuid.UUID, action: str, **options: Any) -> None:
        try:
            services.run_cancel(thread_id=thread_id, run_id=run_id, action=action)
        except SpindleError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"Run {run_id}: {action} requested")
