"""App config for assistants."""

from django.apps import AppConfig


class AssistantsConfig(AppConfig):
    name = "assistants"
    default_auto_field = "django.db.models.BigAutoField"
