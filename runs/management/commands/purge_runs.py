"""Delete runs chosen by age, status and metadata, with their checkpoints, in batches (one
transaction each), with a progress bar on a terminal."""

from __future__ import annotations

import uuid
from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError

from core.commands import (
    SpindleCommand,
    duration_arg,
    key_value_arg,
    metadata_filter,
    plural,
    set_lock_timeout,
)
from core.errors import SpindleError
from runs import selectors, services
from runs.models import ACTIVE_STATUSES, RunStatus
from threads.counts import add_counts, deleted_counts, describe_counts

FINISHED = [status for status in RunStatus.values if status not in ACTIVE_STATUSES]


class Command(SpindleCommand):
    help = (
        "Delete runs with every checkpoint they wrote. Choose them with --older-than, --status "
        "(default: finished runs only), --metadata and --thread. Pending or running runs are "
        "only chosen with an explicit --status, and are rolled back."
    )
    destructive = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=duration_arg,
            metavar="DURATION",
            help="only runs created longer ago than this, e.g. 30d, 12h, 90m",
        )
        parser.add_argument(
            "--status",
            action="append",
            choices=RunStatus.values,
            default=[],
            help=f"only runs with this status (repeatable; default: {', '.join(FINISHED)})",
        )
        parser.add_argument(
            "--metadata",
            action="append",
            type=key_value_arg,
            default=[],
            metavar="KEY=VALUE",
            help="only runs whose metadata has KEY equal to VALUE (repeatable; VALUE is read as "
            "JSON when it parses, else as a string), e.g. graph_id=agent",
        )
        parser.add_argument(
            "--thread",
            action="append",
            type=uuid.UUID,
            default=[],
            dest="thread_ids",
            metavar="THREAD_ID",
            help="only runs of this thread (repeatable)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=500,
            metavar="N",
            help="runs deleted per transaction (default 500)",
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=10.0,
            metavar="SECONDS",
            help="give up on a thread locked this long by another writer, report it and go on "
            "(PostgreSQL; default 10)",
        )
        parser.add_argument("--dry-run", action="store_true", help="only say how many runs match")

    def handle(
        self,
        *args: Any,
        older_than: Any,
        status: list[str],
        metadata: list[tuple[str, str]],
        thread_ids: list[uuid.UUID],
        batch_size: int,
        lock_timeout: float,
        dry_run: bool,
        **options: Any,
    ) -> None:
        if not (older_than or status or metadata or thread_ids):
            raise CommandError(
                "Choose the runs: give --older-than, --status, --metadata or --thread."
            )
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        chosen = selectors.runs_select(
            older_than=older_than,
            statuses=status or FINISHED,
            metadata=metadata_filter(metadata),
            thread_ids=thread_ids,
        )
        total = chosen.count()
        if dry_run or not total:
            self.stdout.write(
                f"{plural(total, 'run')} match{'es' if total == 1 else ''}; nothing done."
            )
            return
        set_lock_timeout(lock_timeout)
        self.confirm(f"Delete {plural(total, 'run')} with their checkpoints?", options)
        deleted, failed = deleted_counts(), []
        after: uuid.UUID | None = None
        with self.progress(total, "run") as bar:
            while True:
                page = chosen if after is None else chosen.filter(run_id__gt=after)
                batch = list(page.values_list("run_id", flat=True)[:batch_size])
                if not batch:
                    break
                after = batch[-1]
                try:
                    deleted = add_counts(deleted, services.runs_purge(run_ids=batch))
                except (SpindleError, DatabaseError) as exc:
                    # The batch's transaction rolled back; the next batches still go.
                    detail = exc.detail if isinstance(exc, SpindleError) else str(exc).strip()
                    failed.append(f"{plural(len(batch), 'run')} from {batch[0]}: {detail}")
                bar.update(len(batch))
        self.stdout.write(f"Deleted {describe_counts(deleted)} ({total} matched).")
        if failed:
            raise CommandError("Not all runs were deleted: " + "; ".join(failed))
