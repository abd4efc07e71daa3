"""Run the sweeper once: end runs whose worker died, re-dispatch lost pending runs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from runs import services


class Command(BaseCommand):
    help = (
        "Run the sweeper once (beat runs it every SPINDLE_SWEEP_SECONDS): end runs with a stale "
        "heartbeat as error and re-dispatch pending runs whose message was lost."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        result = services.runs_sweep()
        self.stdout.write(f"{result['lost']} lost runs ended, {result['redispatched']} pending runs re-dispatched")
