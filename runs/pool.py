"""The worker's Celery pool: prefork, and when a pool process dies its runs end at once.

Celery's master learns of a dead child the moment it exits (the pool watches each
child's sentinel); this pool hands that notice to `runs_end_for_worker`, which ends the
child's running runs as `error` (WorkerLost). The stale-heartbeat sweep stays the backstop
for a master that died too.
"""

from __future__ import annotations

import logging
from typing import Any

from celery.concurrency.asynpool import AsynPool
from celery.concurrency.prefork import TaskPool

logger = logging.getLogger(__name__)


class RunAsynPool(AsynPool):
    node: str = ""

    def _create_process_handlers(self, hub: Any) -> None:
        # celery-types leaves out AsynPool's private hooks and TaskPool's _pool.
        super()._create_process_handlers(hub)  # type: ignore[misc]
        process_down = self.on_process_down  # type: ignore[has-type]

        def on_process_down(proc: Any) -> None:
            process_down(proc)
            _end_runs_of(self.node, proc.pid, proc.exitcode)

        self.on_process_down = on_process_down


class RunTaskPool(TaskPool):
    Pool = RunAsynPool

    def on_start(self) -> None:
        super().on_start()
        # Celery gives every child (app, hostname): the node name its claims record.
        self._pool.node = (self.options.get("initargs") or (None, ""))[1]  # type: ignore[attr-defined]


def _end_runs_of(node: str, pid: int, exitcode: int | None) -> None:
    # Imported here: the worker resolves its pool class before Django's apps are loaded.
    from django.db import close_old_connections

    from runs import services
    from runs.runner import worker_name_of

    try:
        close_old_connections()
        ended = services.runs_end_for_worker(worker=worker_name_of(node, pid))
    except Exception:
        logger.exception("Could not end the runs of pool process %s", pid)
        return
    if ended:
        logger.warning(
            "Pool process %s exited (%s): %d running runs ended as error", pid, exitcode, ended
        )
