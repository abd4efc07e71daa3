"""App config for runs."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created


class RunsConfig(AppConfig):
    name = "runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.db.sql import cache_engine_statements, register_sqlite_functions

        cache_engine_statements()
        connection_created.connect(
            register_sqlite_functions, dispatch_uid="spindle_sqlite_functions"
        )
