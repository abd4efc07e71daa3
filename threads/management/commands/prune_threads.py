"""Prune threads: delete them, or keep only their latest checkpoint."""

from __future__ import annotations

import uuid
from typing import Any, Literal

from django.core.management.base import BaseCommand, CommandParser

from threads import services


class Command(BaseCommand):
    help = "Prune threads: --strategy delete (default) or keep_latest (keep the latest checkpoint)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("thread_ids", nargs="+", type=uuid.UUID, metavar="thread_id")
        parser.add_argument("--strategy", choices=["delete", "keep_latest"], default="delete")

    def handle(
        self,
        *args: Any,
        thread_ids: list[uuid.UUID],
        strategy: Literal["delete", "keep_latest"],
        **options: Any,
    ) -> None:
        pruned = services.thread_prune(thread_ids=thread_ids, strategy=strategy)
        self.stdout.write(f"Pruned {pruned} of {len(thread_ids)} thread(s) ({strategy})")
