"""`python -m config.worker ARGS`: Celery's command line (`celery ARGS`), without the
interactive shell library that command line imports for `celery amqp repl`.

`celery` imports click-repl, and with it prompt_toolkit, at start for a subcommand a worker
never runs: about 20 MB of imports that the worker's master makes before it forks its pool
processes (the worker's proportional set size is about 12 MB less without them). Here a stand-in for click-repl leaves the `repl`
subcommand out; every other subcommand and option is Celery's own
(`python -m config.worker -A config worker --loglevel INFO`).
"""

from __future__ import annotations

import sys
import types
from typing import Any


def without_repl() -> None:
    """Make `import click_repl` give a stand-in whose register_repl adds nothing."""
    if "click_repl" in sys.modules:
        return
    stand_in = types.ModuleType("click_repl")

    def register_repl(group: Any, name: str = "repl") -> None:
        del group, name

    stand_in.register_repl = register_repl  # type: ignore[attr-defined]
    sys.modules["click_repl"] = stand_in


def main() -> None:
    without_repl()
    from celery.__main__ import main as celery_main

    celery_main()


if __name__ == "__main__":
    main()
