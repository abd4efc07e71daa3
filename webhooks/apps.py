"""App config for webhooks: listens for runs that end."""

from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from runs.signals import run_ended
        from webhooks.services import webhook_on_run_end

        run_ended.connect(webhook_on_run_end, dispatch_uid="webhooks.on_run_end")
