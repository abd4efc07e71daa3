"""What every Spindle management command shares: confirmation that never crashes without a
terminal, --no-input, durations and key=value arguments, and a progress bar on a terminal."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from tqdm import tqdm

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def duration_arg(text: str) -> timedelta:
    """argparse type: "90s", "15m", "12h", "30d", "2w" (a bare number is seconds)."""
    found = _DURATION.match(text)
    if not found:
        raise ValueError(text)
    return timedelta(seconds=float(found[1]) * _UNITS[found[2]])


duration_arg.__name__ = "duration (e.g. 90s, 15m, 12h, 30d)"


def key_value_arg(text: str) -> tuple[str, str]:
    """argparse type: "key=value" (a metadata match)."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise ValueError(text)
    return key.strip(), value.strip()


key_value_arg.__name__ = "key=value"


def metadata_filter(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """KEY=VALUE pairs as a metadata subset: a VALUE that parses as JSON is that value
    (n=1 is the number 1), any other is the string."""
    subset: dict[str, Any] = {}
    for key, value in pairs:
        try:
            subset[key] = json.loads(value)
        except ValueError:
            subset[key] = value
    return subset


class SpindleCommand(BaseCommand):
    """A command that asks before it deletes (unless --no-input) and reports counts.

    Subclasses that delete or end runs set `destructive = True` and call `self.confirm()`.
    """

    destructive = False

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        if self.destructive:
            parser.add_argument(
                "--noinput",
                "--no-input",
                action="store_false",
                dest="interactive",
                help="do not ask for confirmation (for scripts and cron; required without a terminal)",
            )
        return parser

    def confirm(self, question: str, options: dict[str, Any]) -> None:
        """Ask `question` [y/N]; CommandError (exit 1) on no, or when nobody can answer."""
        if not options.get("interactive", True):
            return
        try:
            answer = input(f"{question} [y/N] ")
        except (EOFError, OSError):  # stdin closed, or not readable at all
            raise CommandError(
                "Nothing done: confirmation needed but there is no input to read it from "
                "(no terminal). Pass --no-input to go ahead without asking."
            ) from None
        except KeyboardInterrupt:
            raise CommandError("Aborted: nothing done.") from None
        if answer.strip().lower() not in {"y", "yes"}:
            raise CommandError("Aborted: nothing done.")

    @contextmanager
    def progress(self, total: int, unit: str) -> Iterator[tqdm]:
        """A progress bar on stderr when it is a terminal; silent otherwise (cron, pipes)."""
        bar = tqdm(
            total=total,
            unit=f" {unit}",
            file=sys.stderr,
            disable=not sys.stderr.isatty(),
            dynamic_ncols=True,
            leave=False,
        )
        try:
            yield bar
        finally:
            bar.close()


def set_lock_timeout(seconds: float) -> None:
    """Give up on a row lock after `seconds` (PostgreSQL), so a bulk command reports a busy
    thread as a failure and goes on, instead of waiting behind it."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = {int(seconds * 1000)}")


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"
