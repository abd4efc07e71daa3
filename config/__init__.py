"""Project plumbing shared by every app: settings, URLs, ASGI/WSGI, the Celery app."""

from config.celery import app as celery_app

__all__ = ("celery_app",)
