"""Read-only admin for threads and checkpoints; deleting a thread goes through thread_delete."""

from __future__ import annotations

from functools import cached_property
from typing import Any

from django.contrib import admin, messages
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from config.errors import SpindleError
from threads.models import Checkpoint, CheckpointWrite, Thread
from threads.services import thread_delete


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows: COUNT(*) over a big checkpoint table is a full scan."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        return self.object_list.order_by()[: self.CAP].count()


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every field read-only, nothing added or changed through the admin."""

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        excluded = set(self.exclude or ())
        return [f.name for f in self.model._meta.fields if f.name not in excluded]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ("thread_id", "status", "created_at", "updated_at")
    list_filter = ("status",)
    search_fields = ("thread_id",)
    ordering = ("-created_at",)

    def delete_model(self, request: HttpRequest, obj: Thread) -> None:
        thread_delete(thread_id=obj.pk)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        failed: list[str] = []
        for thread_id in queryset.values_list("thread_id", flat=True):
            try:
                thread_delete(thread_id=thread_id)
            except SpindleError as exc:
                failed.append(f"{thread_id}: {exc.detail}")
        if failed:
            # Django reports the successes itself after delete_queryset returns.
            self.message_user(
                request,
                ngettext(
                    "Could not delete %d thread: %s", "Could not delete %d threads: %s", len(failed)
                )
                % (len(failed), "; ".join(failed)),
                level=messages.ERROR,
            )


class CheckpointTableAdmin(ReadOnlyAdmin):
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_select_related = False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Checkpoints go with their run or thread (run_delete / thread_delete), never alone.
        return False


@admin.register(Checkpoint)
class CheckpointAdmin(CheckpointTableAdmin):
    exclude = ("checkpoint",)
    list_display = ("checkpoint_id", "thread_id", "checkpoint_ns", "run_id", "created_at")
    search_fields = ("=thread_id", "=checkpoint_id", "=run_id")
    ordering = ("-id",)


@admin.register(CheckpointWrite)
class CheckpointWriteAdmin(CheckpointTableAdmin):
    exclude = ("blob",)
    list_display = ("thread_id", "checkpoint_id", "task_id", "idx", "channel", "run_id")
    search_fields = ("=thread_id", "=checkpoint_id", "=run_id")
    ordering = ("-id",)
