"""App config for thread TTLs."""

from django.apps import AppConfig


class ThreadTtlConfig(AppConfig):
    name = "thread_ttl"
    default_auto_field = "django.db.models.BigAutoField"
