"""App config for crons."""

from django.apps import AppConfig


class CronsConfig(AppConfig):
    name = "crons"
    default_auto_field = "django.db.models.BigAutoField"
