"""Cancel a run: interrupt it (it keeps its checkpoints) or roll it back (it is deleted)."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser

from core.commands import SpindleCommand
from core.errors import SpindleError
from runs import services
from runs.models import CancelAction


class Command(SpindleCommand):
    help = "Cancel an active run: --action interrupt (default) or rollback (deletes it and its checkpoints)."
    destructive = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("thread_id", type=uuid.UUID, help="the thread the run belongs to")
        parser.add_argument("run_id", type=uuid.UUID, help="the pending or running run to cancel")
        parser.add_argument(
            "--action",
            choices=CancelAction.values,
            default=CancelAction.INTERRUPT,
            help="interrupt: stop it, keeping its checkpoints (default); rollback: stop it and "
            "delete it with its checkpoints (asks first, unless --no-input)",
        )

    def handle(
        self, *args: Any, thread_id: uuid.UUID, run_id: uuid.UUID, action: str, **options: Any
    ) -> None:
        if action == CancelAction.ROLLBACK:
            self.confirm(f"Roll back run {run_id} (delete it with its checkpoints)?", options)
        try:
            services.run_cancel(thread_id=thread_id, run_id=run_id, action=action)
        except SpindleError as exc:
            raise CommandError(exc.detail) from None
        self.stdout.write(f"Run {run_id}: {action} requested")
