"""Run the langgraph-checkpoint-conformance suite against DjangoSaver on the DATABASE_URL database.

Usage: DATABASE_URL=... python -m tests.integration.checkpointer.conformance_runner

Migrates the (fresh) database, runs validate() with verbose progress, prints the
report and a final `CONFORMANCE_JSON {...}` line, and exits non-zero unless every
capability was detected and passed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncGenerator

RESULT_PREFIX = "CONFORMANCE_JSON "


async def _run() -> dict:
    from langgraph.checkpoint.conformance import checkpointer_test, validate
    from langgraph.checkpoint.conformance.report import ProgressCallbacks

    from threads.checkpointer import DjangoSaver

    @checkpointer_test(name="DjangoSaver")
    async def django_saver() -> AsyncGenerator[DjangoSaver, None]:
        yield DjangoSaver()

    report = await validate(django_saver, progress=ProgressCallbacks.verbose())
    report.print_report()
    return report.to_dict()


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"DjangoSaver conformance on {connection.vendor} ({connection.settings_dict['NAME']})")
    result = asyncio.run(_run())
    print(RESULT_PREFIX + json.dumps({"vendor": connection.vendor, **result}))
    from langgraph.checkpoint.conformance.capabilities import ALL_CAPABILITIES

    ok = all(
        (cap := result["results"].get(c.value)) is not None
        and cap["detected"]
        and cap["passed"] is True
        and cap["tests_failed"] == 0
        for c in ALL_CAPABILITIES
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
