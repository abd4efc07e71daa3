"""Admin for runs: read-only rows; cancel, roll back and delete go through the services."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from config.errors import SpindleError
from runs import services
from runs.models import CancelAction, Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("run_id", "thread_id", "status", "multitask_strategy", "attempt", "created_at", "ended_at")
    list_filter = ("status", "multitask_strategy")
    search_fields = ("=run_id", "=thread__thread_id")
    list_select_related = ("thread",)
    raw_id_fields = ("thread",)
    ordering = ("-created_at",)
    show_full_result_count = False
    actions = ("cancel_runs", "rollback_runs")
    readonly_fields = tuple(f.name for f in Run._meta.fields)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False

    def _each(self, request: HttpRequest, queryset: QuerySet[Run], action: str, verb: str) -> None:
        done, failed = 0, []
        for run in queryset:
            try:
                services.run_cancel(thread_id=run.thread_id, run_id=run.run_id, action=action)
                done += 1
            except SpindleError as exc:
                failed.append(f"{run.run_id}: {exc.detail}")
        if done:
            self.message_user(request, ngettext(f"{verb} %d run.", f"{verb} %d runs.", done) % done)
        for failure in failed:
            self.message_user(request, failure, level=messages.ERROR)

    @admin.action(description="Cancel (interrupt) selected runs", permissions=["delete"])
    def cancel_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._each(request, queryset, CancelAction.INTERRUPT, "Interrupted")

    @admin.action(description="Roll back selected runs (delete with their checkpoints)", permissions=["delete"])
    def rollback_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._each(request, queryset, CancelAction.ROLLBACK, "Rolled back")

    def delete_model(self, request: HttpRequest, obj: Run) -> None:
        services.run_delete(thread_id=obj.thread_id, run_id=obj.run_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        for run in queryset:
            try:
                services.run_delete(thread_id=run.thread_id, run_id=run.run_id)
            except SpindleError:
                pass  # already gone: a rollback or a thread delete got there first
