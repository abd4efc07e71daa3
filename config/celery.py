"""The Celery app: configured from Django settings under the CELERY namespace."""

from __future__ import annotations

import gc
import logging.config
import os

from celery import Celery
from celery.signals import beat_init, setup_logging, worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("spindle")
app.config_from_object("django.conf:settings", namespace="CELERY")
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
def _freeze_imports_before_fork(*args: object, **kwargs: object) -> None:
    # Objects the master has made so far move to a generation the collector never scans,
    # so pool processes forked from it do not write to (and copy) those shared pages.
    gc.freeze()


@setup_logging.connect
def _configure_logging(*args: object, **kwargs: object) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
