"""Admin for crons: read-only rows beside their periodic tasks (pause or edit the
schedule there); deleting goes through cron_delete."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from crons.models import Cron
from crons.services import cron_delete


@admin.register(Cron)
class CronAdmin(admin.ModelAdmin):
    list_display = ("cron_id", "schedule", "thread", "enabled", "created_at")
    search_fields = ("cron_id",)
    raw_id_fields = ("thread", "periodic_task")
    list_select_related = ("periodic_task", "periodic_task__crontab")

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in Cron._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Cron) -> None:
        cron_delete(cron_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Cron]) -> None:
        for cron_id in queryset.values_list("cron_id", flat=True):
            cron_delete(cron_id=cron_id)
