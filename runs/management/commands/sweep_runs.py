"""Run the sweeper: once, or (--loop) every SPINDLE_SWEEP_SECONDS until stopped."""

from __future__ import annotations

import signal
import threading
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from runs import sweeper


class Command(BaseCommand):
    help = (
        "End runs with a stale heartbeat and re-dispatch pending runs whose message was lost;"
        " with --loop, keep doing it every SPINDLE_SWEEP_SECONDS (the sweeper process)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--loop", action="store_true", help="sweep periodically until SIGTERM/SIGINT"
        )

    def handle(self, *args: Any, loop: bool = False, **options: Any) -> None:
        if not loop:
            result = sweeper.sweep_once()
            self.stdout.write(
                f"{result['lost']} lost runs ended, {result['redispatched']} pending runs re-dispatched"
            )
            return
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        sweeper.sweep_forever(settings.SPINDLE_SWEEP_SECONDS, stop)
