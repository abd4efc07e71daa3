"""The Celery app: configured from Django settings under the CELERY namespace."""

from __future__ import annotations

import logging.config
import os
from collections.abc import Iterator, Mapping
from functools import cached_property
from typing import Any

from celery import Celery
from celery.signals import beat_init, setup_logging, worker_init

from config.collector import settle

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


class CelerySettings(Mapping[str, Any]):
    """Django's CELERY_* settings, read into a dict when Celery first reads its
    configuration (after Django's settings have loaded), as the mapping Celery looks its
    keys up in.

    Given `django.conf.settings` itself, Celery looks each key up under two names in each
    of its maps, every miss an attribute lookup through Django's LazySettings that raises
    AttributeError, and a task sent reads several keys: about a fifth of the CPU of
    sending a run's message went there. Nothing changes CELERY_* settings at run time."""

    @cached_property
    def _values(self) -> dict[str, Any]:
        from django.conf import settings

        return {
            name: getattr(settings, name) for name in dir(settings) if name.startswith("CELERY_")
        }

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)


app = Celery("spindle")
app.config_from_object(CelerySettings(), namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
@beat_init.connect
def _refuse_development_key(*args: object, **kwargs: object) -> None:
    from config.deploy import refuse_development_secret_key

    refuse_development_secret_key()


@worker_init.connect
def _ensure_default_assistants(*args: object, **kwargs: object) -> None:
    # Every registered graph gets its system assistant when a worker starts, before the
    # pool forks: the connection used here is closed so no child inherits it.
    from django.db import connections

    from assistants.services import assistant_ensure_defaults

    try:
        assistant_ensure_defaults()
    finally:
        connections.close_all()


@worker_init.connect
def _parse_prctl_once(*args: object, **kwargs: object) -> None:
    # Each pool process, as it starts, has billiard declare prctl through cffi (its parent
    # death signal), and cffi's first declaration builds a C parser in every pool process.
    # Declared here once, before the fork, the parser is the master's, shared by the pool
    # processes: an idle pool process's private memory went from 11 to 7 MB.
    from billiard.util import get_pdeathsig  # type: ignore[attr-defined]  # not in celery-types

    try:
        get_pdeathsig()
    except OSError:
        pass  # not Linux: billiard sets no death signal there either


@worker_init.connect
def _freeze_imports_before_fork(*args: object, **kwargs: object) -> None:
    # Objects the master has made so far move to a generation the collector never scans,
    # so pool processes forked from it do not write to (and copy) those shared pages.
    settle()


@setup_logging.connect
def _configure_logging(*args: object, **kwargs: object) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
