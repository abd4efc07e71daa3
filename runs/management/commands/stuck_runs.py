"""Report runs and threads that are stuck; with --fix, move them on through the services."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import CommandError, CommandParser
from django.db import DatabaseError
from django.utils import timezone

from core.admin import precise_time
from core.commands import SpindleCommand, duration_arg, plural
from core.errors import SpindleError
from runs import selectors, services


class Command(SpindleCommand):
    help = (
        "Report stuck work: runs pending too long, running runs whose worker went silent, and "
        "threads marked busy with no active run. --fix dispatches pending runs again, ends "
        "silent runs as error (WorkerLost) and sets the threads' status from their runs."
    )
    destructive = True

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--pending-for",
            type=duration_arg,
            default=timedelta(minutes=5),
            metavar="DURATION",
            help="a pending run older than this is reported (default 5m)",
        )
        parser.add_argument(
            "--silent-for",
            type=duration_arg,
            metavar="DURATION",
            default=timedelta(seconds=settings.SPINDLE_STALE_AFTER_SECONDS),
            help="a running run without a heartbeat for this long is reported "
            "(default SPINDLE_STALE_AFTER_SECONDS)",
        )
        parser.add_argument(
            "--fix", action="store_true", help="repair what is reported (asks first)"
        )

    def handle(
        self, *args: Any, pending_for: timedelta, silent_for: timedelta, fix: bool, **options: Any
    ) -> None:
        now = timezone.now()
        pending = selectors.runs_pending_since(before=now - pending_for)
        silent = selectors.runs_running_silent_since(before=now - silent_for)
        busy = selectors.threads_busy_without_active_run()
        for run in pending:
            self.stdout.write(
                f"pending  run {run.run_id} thread {run.thread_id} since {precise_time(run.created_at)}"
            )
        for run in silent:
            self.stdout.write(
                f"silent   run {run.run_id} thread {run.thread_id} last heartbeat "
                f"{precise_time(run.heartbeat_at or run.started_at)}"
            )
        for thread_id in busy:
            self.stdout.write(f"busy     thread {thread_id} has no pending or running run")
        self.stdout.write(
            f"{plural(len(pending), 'pending run')} older than {pending_for}, "
            f"{plural(len(silent), 'silent running run')}, "
            f"{plural(len(busy), 'busy thread')} without an active run."
        )
        if not fix or not (pending or silent or busy):
            return
        self.confirm("Fix them?", options)
        redispatched, waiting, ended, settled, failed = 0, 0, 0, 0, []

        def attempt(what: str, repair: Any) -> Any:
            try:
                return repair()
            except (SpindleError, DatabaseError) as exc:
                failed.append(f"{what}: {getattr(exc, 'detail', None) or exc}")
                return None

        for run in silent:
            if attempt(
                f"run {run.run_id}", lambda run=run: services.run_end_lost(run_id=run.run_id)
            ):
                ended += 1
        for run in pending:
            if attempt(
                f"run {run.run_id}", lambda run=run: services.run_redispatch(run_id=run.run_id)
            ):
                redispatched += 1
            else:
                waiting += 1  # behind a running run of its thread, or no longer pending
        for thread_id in busy:
            if attempt(
                f"thread {thread_id}", lambda t=thread_id: services.thread_settle(thread_id=t)
            ):
                settled += 1
        self.stdout.write(
            f"Fixed: {plural(redispatched, 'run')} dispatched again ({waiting} still waiting their turn), "
            f"{plural(ended, 'run')} ended as error, {plural(settled, 'thread')} settled."
        )
        if failed:
            raise CommandError("Not everything was fixed: " + "; ".join(failed))
