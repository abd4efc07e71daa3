"""Prune threads chosen by id, age, status or metadata: delete them, or keep only their
latest checkpoint. Works in batches, with a progress bar on a terminal."""

from __future__ import annotations

import uuid
from typing import Any, Literal

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
from runs.services import thread_delete, thread_prune
from threads import selectors
from threads.counts import add_counts, deleted_counts, describe_counts
from threads.models import ThreadStatus


class Command(SpindleCommand):
    help = (
        "Prune threads: --strategy delete (default: the threads go with their runs and "
        "checkpoints; active runs are rolled back) or keep_latest (keep each thread's latest "
        "checkpoint). Choose threads by id and/or --idle-for, --status, --metadata."
    )
    destructive = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "thread_ids",
            nargs="*",
            type=uuid.UUID,
            metavar="thread_id",
            help="a thread to prune (optional when other criteria are given)",
        )
        parser.add_argument(
            "--idle-for",
            type=duration_arg,
            metavar="DURATION",
            help="only threads not updated for this long, e.g. 30d, 12h, 90m",
        )
        parser.add_argument(
            "--status",
            action="append",
            choices=ThreadStatus.values,
            default=[],
            help="only threads with this status (repeatable)",
        )
        parser.add_argument(
            "--metadata",
            action="append",
            type=key_value_arg,
            default=[],
            metavar="KEY=VALUE",
            help="only threads whose metadata has KEY equal to VALUE (repeatable; VALUE is read "
            "as JSON when it parses, e.g. n=1, else as a string)",
        )
        parser.add_argument(
            "--strategy",
            choices=["delete", "keep_latest"],
            default="delete",
            help="delete the threads (default) or keep only their latest checkpoint",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=100,
            metavar="N",
            help="threads selected per query (default 100)",
        )
        parser.add_argument(
            "--lock-timeout",
            type=float,
            default=10.0,
            metavar="SECONDS",
            help="give up on a thread locked this long by another writer, report it and go on "
            "(PostgreSQL; default 10)",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="only say how many threads match"
        )

    def handle(
        self,
        *args: Any,
        thread_ids: list[uuid.UUID],
        idle_for: Any,
        status: list[str],
        metadata: list[tuple[str, str]],
        strategy: Literal["delete", "keep_latest"],
        batch_size: int,
        lock_timeout: float,
        dry_run: bool,
        **options: Any,
    ) -> None:
        if not (thread_ids or idle_for or status or metadata):
            raise CommandError(
                "Choose the threads: give thread ids, --idle-for, --status or --metadata."
            )
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        chosen = selectors.threads_select(
            ids=thread_ids, idle_for=idle_for, statuses=status, metadata=metadata_filter(metadata)
        )
        total = chosen.count()
        missing = (
            len(set(thread_ids)) - total
            if thread_ids and not (idle_for or status or metadata)
            else 0
        )
        if dry_run or not total:
            self.stdout.write(
                f"{plural(total, 'thread')} match{'es' if total == 1 else ''}; nothing done."
            )
            if missing:
                raise CommandError(f"{plural(missing, 'thread')} not found")
            return
        set_lock_timeout(lock_timeout)
        self.confirm(f"Prune {plural(total, 'thread')} ({strategy})?", options)
        deleted, pruned, skipped, failed = deleted_counts(), 0, 0, []
        after: uuid.UUID | None = None
        with self.progress(total, "thread") as bar:
            while True:
                page = chosen if after is None else chosen.filter(thread_id__gt=after)
                batch = list(page.values_list("thread_id", flat=True)[:batch_size])
                if not batch:
                    break
                after = batch[-1]
                for thread_id in batch:
                    try:
                        if strategy == "delete":
                            deleted = add_counts(deleted, thread_delete(thread_id=thread_id))
                            pruned += 1
                        elif thread_prune(thread_ids=[thread_id], strategy="keep_latest"):
                            pruned += 1
                        else:
                            skipped += 1  # an active run builds on the checkpoints
                    except (SpindleError, DatabaseError) as exc:
                        detail = exc.detail if isinstance(exc, SpindleError) else str(exc).strip()
                        failed.append(f"thread {thread_id}: {detail}")
                    bar.update(1)
        summary = f"Pruned {plural(pruned, 'thread')} of {total} ({strategy})"
        if strategy == "delete":
            summary += f": deleted {describe_counts(deleted)}"
        if skipped:
            summary += f"; skipped {skipped} with an active run"
        self.stdout.write(summary + ".")
        problems = failed + ([f"{plural(missing, 'thread')} not found"] if missing else [])
        if problems:
            raise CommandError("Not all threads were pruned: " + "; ".join(problems))
