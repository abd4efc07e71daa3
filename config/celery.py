"""The Celery app: configured from Django settings under the CELERY namespace."""

from __future__ import annotations

import logging.config
import os

from celery import Celery
from celery.signals import setup_logging

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("spindle")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _configure_logging(*args: object, **kwargs: object) -> None:
    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)
