"""Read-only admin for threads and checkpoints; deleting a thread goes through thread_delete."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import ngettext
from langchain_core.runnables import RunnableConfig

from core.admin import (
    CappedCountPaginator,
    InputFilter,
    admin_link,
    duration,
    fieldset_names,
    json_field,
    link_list,
    messages_html,
    precise_time,
    pretty_json,
)
from core.errors import SpindleError
from core.json import to_jsonable
from runs.models import ACTIVE_STATUSES, Run
from runs.services import thread_delete
from threads.checkpointer import DjangoSaver
from threads.counts import DeletedCounts, add_counts, deleted_counts, describe_counts
from threads.models import Checkpoint, CheckpointWrite, Thread

logger = logging.getLogger(__name__)

# How many of a thread's runs and checkpoints its page lists; the rest are on the
# filtered (paginated) lists it links to.
THREAD_PAGE_ROWS = 20


class ReadOnlyAdmin(admin.ModelAdmin):
    """Every field read-only, nothing added or changed through the admin."""

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        if self.fieldsets:
            return fieldset_names(self.fieldsets)
        excluded = set(self.exclude or ())
        return [f.name for f in self.model._meta.fields if f.name not in excluded]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False


@admin.register(Thread)
class ThreadAdmin(ReadOnlyAdmin):
    list_display = ("thread_id", "status", "graph", "created", "updated")
    list_filter = ("status",)
    search_fields = ("=thread_id",)
    search_help_text = "A thread id; key=value for metadata (e.g. graph_id=agent)."
    ordering = ("-created_at",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    fieldsets = (
        (None, {"fields": ("thread_id", "status", "created", "updated", "state_updated")}),
        ("Conversation", {"fields": ("conversation", "interrupts_json", "error_json")}),
        ("Runs and checkpoints", {"fields": ("runs", "checkpoints")}),
        ("Data", {"fields": ("metadata_json", "config_json", "values_json")}),
    )

    metadata_json = json_field("metadata")
    config_json = json_field("config")
    values_json = json_field("values", "all values")
    interrupts_json = json_field("interrupts")
    error_json = json_field("error")

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Thread], search_term: str
    ) -> tuple[QuerySet[Thread], bool]:
        term = search_term.strip()
        if "=" in term:
            key, _, wanted = term.partition("=")
            return queryset.filter(**{f"metadata__{key.strip()}": wanted.strip()}), False
        if not term:
            return queryset, False
        try:
            return queryset.filter(thread_id=uuid.UUID(term)), False
        except ValueError:  # not a thread id: nothing matches, never a 500
            return queryset.none(), False

    @admin.display(description="graph")
    def graph(self, thread: Thread) -> str:
        return (thread.metadata or {}).get("graph_id") or "-"

    @admin.display(description="created", ordering="created_at")
    def created(self, thread: Thread) -> str:
        return precise_time(thread.created_at)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, thread: Thread) -> str:
        return precise_time(thread.updated_at)

    @admin.display(description="state updated")
    def state_updated(self, thread: Thread) -> str:
        return precise_time(thread.state_updated_at)

    @admin.display(description="messages")
    def conversation(self, thread: Thread) -> SafeString:
        values = thread.values if isinstance(thread.values, dict) else {}
        return messages_html(values.get("messages"))

    @admin.display(description="runs (latest first)")
    def runs(self, thread: Thread) -> SafeString:
        rows = list(
            Run.objects.filter(thread_id=thread.pk).order_by("-created_at")[:THREAD_PAGE_ROWS]
        )
        items = [
            (
                admin_link(Run, run.pk),
                f"{run.status}, {run.multitask_strategy}, created {precise_time(run.created_at)},"
                f" took {duration(run.started_at, run.ended_at)}",
            )
            for run in rows
        ]
        more = admin_link(Run, None, "all runs of this thread", thread_id=thread.pk)
        return (
            format_html("{}{}", link_list(items), more) if items else format_html("None. {}", more)
        )

    @admin.display(description="checkpoints (latest first)")
    def checkpoints(self, thread: Thread) -> SafeString:
        rows = list(
            Checkpoint.objects.filter(thread_id=str(thread.pk))
            .order_by("-checkpoint_id")
            .values_list("pk", "checkpoint_id", "checkpoint_ns", "run_id", "metadata")[
                :THREAD_PAGE_ROWS
            ]
        )
        items = [
            (
                admin_link(Checkpoint, pk, checkpoint_id),
                f"step {(meta or {}).get('step')} ({(meta or {}).get('source')})"
                + (f" in {ns}" if ns else "")
                + (f", run {run_id}" if run_id else ""),
            )
            for pk, checkpoint_id, ns, run_id, meta in rows
        ]
        more = admin_link(Checkpoint, None, "all checkpoints of this thread", thread_id=thread.pk)
        return (
            format_html("{}{}", link_list(items), more) if items else format_html("None. {}", more)
        )

    # --- deletes, through thread_delete ------------------------------------------------

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """The runs and checkpoints go with their thread through thread_delete, so they
        need no admin permission of their own (checkpoints have none)."""
        threads = list(objs)
        ids = [thread.pk for thread in threads]
        runs = Run.objects.filter(thread_id__in=ids).count()
        active = Run.objects.filter(thread_id__in=ids, status__in=ACTIVE_STATUSES).count()
        checkpoints = Checkpoint.objects.filter(thread_id__in=[str(i) for i in ids]).count()
        described: list[str] = [
            format_html("Thread {} ({})", admin_link(Thread, t.pk), t.status) for t in threads
        ]
        if active:
            described.append(
                ngettext(
                    "%d active run will be rolled back.",
                    "%d active runs will be rolled back.",
                    active,
                )
                % active
            )
        return (
            described,
            {"threads": len(threads), "runs": runs, "checkpoints": checkpoints},
            set(),
            [],
        )

    def delete_model(self, request: HttpRequest, obj: Thread) -> None:
        deleted = thread_delete(thread_id=obj.pk)
        self.message_user(request, f"Deleted the thread with {describe_counts(deleted)}.")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Thread]) -> None:
        failed: list[str] = []
        total: DeletedCounts = deleted_counts()
        done = 0
        for thread_id in queryset.values_list("thread_id", flat=True):
            try:
                total = add_counts(total, thread_delete(thread_id=thread_id))
                done += 1
            except SpindleError as exc:
                failed.append(f"{thread_id}: {exc.detail}")
        self.message_user(
            request,
            ngettext("Deleted %d thread with %s.", "Deleted %d threads with %s.", done)
            % (done, describe_counts(total)),
        )
        if failed:
            self.message_user(
                request,
                ngettext(
                    "Could not delete %d thread: %s", "Could not delete %d threads: %s", len(failed)
                )
                % (len(failed), "; ".join(failed)),
                level=messages.ERROR,
            )


class ThreadOfCheckpointFilter(InputFilter):
    title = "thread id"
    parameter_name = "thread_id"


class RunOfCheckpointFilter(InputFilter):
    title = "run id"
    parameter_name = "run_id"


class CheckpointTableAdmin(ReadOnlyAdmin):
    show_full_result_count = False
    paginator = CappedCountPaginator
    list_select_related = False
    list_filter = (ThreadOfCheckpointFilter, RunOfCheckpointFilter)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Checkpoints go with their run or thread (run_delete / thread_delete), never alone.
        return False

    @admin.display(description="thread")
    def thread_link(self, row: Any) -> SafeString | str:
        return (
            admin_link(Thread, row.owner_thread_id, row.thread_id)
            if row.owner_thread_id
            else row.thread_id
        )

    @admin.display(description="run")
    def run_link(self, row: Any) -> SafeString | str:
        if row.owner_run_id:
            return admin_link(Run, row.owner_run_id)
        return row.run_id or "-"


@admin.register(Checkpoint)
class CheckpointAdmin(CheckpointTableAdmin):
    list_display = ("checkpoint_id", "thread_link", "checkpoint_ns", "run_link", "step", "created")
    search_fields = ("=thread_id", "=checkpoint_id", "=run_id")
    ordering = ("-id",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "checkpoint_id",
                    "parent_checkpoint_id",
                    "thread_link",
                    "checkpoint_ns",
                    "run_link",
                    "created",
                )
            },
        ),
        ("Values", {"fields": ("values_messages", "decoded_values")}),
        ("Metadata", {"fields": ("metadata_json", "channel_versions_json")}),
    )
    metadata_json = json_field("metadata")
    channel_versions_json = json_field("channel_versions", "channel versions")

    @admin.display(description="step")
    def step(self, row: Checkpoint) -> Any:
        return (row.metadata or {}).get("step")

    @admin.display(description="created", ordering="created_at")
    def created(self, row: Checkpoint) -> str:
        return precise_time(row.created_at)

    def _channel_values(self, row: Checkpoint) -> Any:
        config: RunnableConfig = {
            "configurable": {
                "thread_id": row.thread_id,
                "checkpoint_ns": row.checkpoint_ns,
                "checkpoint_id": row.checkpoint_id,
            }
        }
        found = DjangoSaver().get_tuple(config)
        return to_jsonable(found.checkpoint.get("channel_values", {})) if found else None

    @admin.display(description="messages")
    def values_messages(self, row: Checkpoint) -> SafeString | str:
        values = self._values(row)
        if isinstance(values, dict) and isinstance(values.get("messages"), list):
            return messages_html(values["messages"])
        return "-"

    @admin.display(description="values (decoded)")
    def decoded_values(self, row: Checkpoint) -> SafeString:
        return pretty_json(self._values(row))

    def _values(self, row: Checkpoint) -> Any:
        # Both displays read the same decoded values: decode once per page.
        cached = getattr(row, "_decoded_values", None)
        if cached is None:
            try:
                cached = self._channel_values(row)
            except Exception as exc:  # a value this process cannot deserialize
                logger.warning("Could not decode checkpoint %s: %s", row.checkpoint_id, exc)
                cached = {"error": f"could not decode: {exc}"}
            vars(row)["_decoded_values"] = cached
        return cached


@admin.register(CheckpointWrite)
class CheckpointWriteAdmin(CheckpointTableAdmin):
    exclude = ("blob",)
    list_display = ("thread_link", "checkpoint_id", "task_id", "idx", "channel", "run_link")
    search_fields = ("=thread_id", "=checkpoint_id", "=run_id")
    ordering = ("-id",)
