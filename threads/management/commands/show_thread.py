"""Show a thread: its status, metadata, current messages and latest runs."""

from __future__ import annotations

import json
import uuid
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.admin import duration, message_text, precise_time
from core.errors import SpindleError
from core.json import to_jsonable
from runs.selectors import run_list
from threads.selectors import thread_get


class Command(BaseCommand):
    help = "Show a thread: status, metadata, its current messages and its latest runs."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("thread_id", type=uuid.UUID, help="the thread to show")
        parser.add_argument(
            "--runs",
            type=int,
            default=10,
            metavar="N",
            help="how many of its latest runs to list (default 10)",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print one JSON object instead of text",
        )

    def handle(
        self, *args: Any, thread_id: uuid.UUID, runs: int, as_json: bool, **options: Any
    ) -> None:
        try:
            thread = thread_get(thread_id)
        except SpindleError as exc:
            raise CommandError(exc.detail) from None
        latest = run_list(thread_id=thread.pk, limit=max(runs, 0))
        values = thread.values if isinstance(thread.values, dict) else {}
        raw_messages = values.get("messages")
        messages = raw_messages if isinstance(raw_messages, list) else []
        if as_json:
            self.stdout.write(
                json.dumps(
                    to_jsonable(
                        {
                            "thread_id": thread.pk,
                            "status": thread.status,
                            "metadata": thread.metadata,
                            "created_at": thread.created_at,
                            "updated_at": thread.updated_at,
                            "interrupts": thread.interrupts,
                            "error": thread.error,
                            "messages": [
                                dict(zip(("role", "text"), message_text(m), strict=True))
                                for m in messages
                            ],
                            "runs": [
                                {
                                    "run_id": r.run_id,
                                    "status": r.status,
                                    "multitask_strategy": r.multitask_strategy,
                                    "created_at": r.created_at,
                                    "started_at": r.started_at,
                                    "ended_at": r.ended_at,
                                    "error": r.error,
                                }
                                for r in latest
                            ],
                        }
                    ),
                    indent=2,
                )
            )
            return
        self.stdout.write(f"Thread {thread.pk}")
        self.stdout.write(f"  status:   {thread.status}")
        self.stdout.write(f"  created:  {precise_time(thread.created_at)}")
        self.stdout.write(f"  updated:  {precise_time(thread.updated_at)}")
        self.stdout.write(f"  metadata: {json.dumps(to_jsonable(thread.metadata), sort_keys=True)}")
        if thread.interrupts:
            self.stdout.write(f"  interrupts: {json.dumps(to_jsonable(thread.interrupts))}")
        if thread.error:
            self.stdout.write(f"  error:    {json.dumps(to_jsonable(thread.error))}")
        self.stdout.write(f"Messages ({len(messages)}):")
        for message in messages:
            role, text = message_text(message)
            self.stdout.write(f"  {role:>9}: " + text.replace("\n", "\n" + " " * 13))
        self.stdout.write(f"Latest runs ({len(latest)}):")
        for run in latest:
            line = (
                f"  {run.run_id} {run.status:<11} {run.multitask_strategy:<9} "
                f"created {precise_time(run.created_at)} took {duration(run.started_at, run.ended_at)}"
            )
            if run.error:
                line += f" error {run.error.get('error')}: {run.error.get('message')}"
            self.stdout.write(line)
