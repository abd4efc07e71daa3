"""Admin for runs: read-only rows; cancel, roll back and delete go through the services."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from assistants.graphs import GraphRegistryError, graph_ids
from assistants.models import Assistant
from core.admin import (
    CappedCountPaginator,
    InputFilter,
    admin_link,
    duration,
    fieldset_names,
    json_field,
    link_list,
    precise_time,
    pretty_json,
)
from core.errors import SpindleError
from runs import services
from runs.models import ACTIVE_STATUSES, CancelAction, Run
from threads.counts import describe_counts
from threads.models import Checkpoint, CheckpointWrite, Thread

# The checkpoints a run's page lists; the rest are a click away, on the filtered list.
RUN_PAGE_CHECKPOINTS = 20


class GraphFilter(admin.SimpleListFilter):
    title = "graph"
    parameter_name = "graph"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        try:
            return [(graph_id, graph_id) for graph_id in graph_ids()]
        except GraphRegistryError:
            return []

    def queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> QuerySet[Run]:
        return queryset.filter(metadata__graph_id=self.value()) if self.value() else queryset


class ThreadIdFilter(InputFilter):
    title = "thread id"
    parameter_name = "thread_id"

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        return queryset.filter(thread_id=_uuid_or_none(value))


class AssistantIdFilter(InputFilter):
    title = "assistant id"
    parameter_name = "assistant_id"

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        return queryset.filter(assistant_id=_uuid_or_none(value))


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value.strip())
    except ValueError:
        return None  # matches nothing: a malformed id filters everything out, never a 500


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = (
        "run_id",
        "graph",
        "assistant_link",
        "thread_link",
        "status",
        "multitask_strategy",
        "created",
        "run_duration",
    )
    list_display_links = ("run_id",)
    list_filter = ("status", "multitask_strategy", GraphFilter, ThreadIdFilter, AssistantIdFilter)
    search_fields = ("=run_id",)
    search_help_text = (
        "A run, thread or assistant id; key=value for metadata (e.g. graph_id=agent); "
        "other text searches the metadata."
    )
    ordering = ("-created_at",)
    show_full_result_count = False
    paginator = CappedCountPaginator
    actions = ("cancel_runs", "rollback_runs", "delete_selected")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "run_id",
                    "thread_link",
                    "assistant_link",
                    "graph",
                    "status",
                    "multitask_strategy",
                    "cancel_action",
                    "attempt",
                    "worker",
                )
            },
        ),
        (
            "Timings (UTC)",
            {"fields": ("created", "started", "ended", "heartbeat", "queued_for", "run_duration")},
        ),
        (
            "Request",
            {
                "fields": (
                    "input_json",
                    "command_json",
                    "config_json",
                    "context_json",
                    "options_json",
                    "metadata_json",
                )
            },
        ),
        ("Outcome", {"fields": ("error_html", "checkpoints")}),
    )
    readonly_fields = tuple(fieldset_names(fieldsets))

    input_json = admin.display(description="input")(
        lambda self, run: pretty_json(run.kwargs.get("input"))
    )
    command_json = admin.display(description="command")(
        lambda self, run: pretty_json(run.kwargs.get("command"))
    )
    config_json = admin.display(description="config")(
        lambda self, run: pretty_json(run.kwargs.get("config"))
    )
    context_json = admin.display(description="context")(
        lambda self, run: pretty_json(run.kwargs.get("context"))
    )
    metadata_json = json_field("metadata")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Run | None = None) -> bool:
        return False

    # --- the list --------------------------------------------------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Run], search_term: str
    ) -> tuple[QuerySet[Run], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        try:
            value = uuid.UUID(term)
        except ValueError:
            pass
        else:
            return queryset.filter(
                Q(run_id=value) | Q(thread_id=value) | Q(assistant_id=value)
            ), False
        if "=" in term:
            key, _, wanted = term.partition("=")
            return queryset.filter(**{f"metadata__{key.strip()}": wanted.strip()}), False
        return queryset.filter(metadata__icontains=term), False

    @admin.display(description="graph")
    def graph(self, run: Run) -> str:
        return (run.metadata or {}).get("graph_id") or "-"

    @admin.display(description="assistant")
    def assistant_link(self, run: Run) -> SafeString:
        return admin_link(Assistant, run.assistant_id, str(run.assistant_id)[:8] + "…")

    @admin.display(description="thread")
    def thread_link(self, run: Run) -> SafeString:
        return admin_link(Thread, run.thread_id)

    @admin.display(description="created", ordering="created_at")
    def created(self, run: Run) -> str:
        return precise_time(run.created_at)

    @admin.display(description="duration")
    def run_duration(self, run: Run) -> str:
        return duration(run.started_at, run.ended_at)

    # --- the run's page ----------------------------------------------------------------

    @admin.display(description="started")
    def started(self, run: Run) -> str:
        return precise_time(run.started_at)

    @admin.display(description="ended")
    def ended(self, run: Run) -> str:
        return precise_time(run.ended_at)

    @admin.display(description="last heartbeat")
    def heartbeat(self, run: Run) -> str:
        return precise_time(run.heartbeat_at)

    @admin.display(description="waited before starting")
    def queued_for(self, run: Run) -> str:
        return duration(run.created_at, run.started_at)

    @admin.display(description="other options")
    def options_json(self, run: Run) -> SafeString:
        shown = {"input", "command", "config", "context"}
        return pretty_json({k: v for k, v in (run.kwargs or {}).items() if k not in shown})

    @admin.display(description="error")
    def error_html(self, run: Run) -> SafeString | str:
        error = run.error
        if not error:
            return "-"
        if not isinstance(error, dict):
            return pretty_json(error)
        return format_html(
            '<p class="spindle-error"><strong>{}</strong>: {}</p><pre class="spindle-traceback">{}</pre>',
            error.get("error", "Error"),
            error.get("message", ""),
            error.get("traceback") or "(no traceback recorded)",
        )

    @admin.display(description="checkpoints")
    def checkpoints(self, run: Run) -> SafeString:
        rows = list(
            Checkpoint.objects.filter(run_id=str(run.pk))
            .order_by("-checkpoint_id")
            .values_list("pk", "checkpoint_id", "checkpoint_ns", "metadata")[
                : RUN_PAGE_CHECKPOINTS + 1
            ]
        )
        items = [
            (
                admin_link(Checkpoint, pk, checkpoint_id),
                f"step {(meta or {}).get('step')} ({(meta or {}).get('source')})"
                + (f" in {ns}" if ns else ""),
            )
            for pk, checkpoint_id, ns, meta in rows[:RUN_PAGE_CHECKPOINTS]
        ]
        more = admin_link(Checkpoint, None, "all checkpoints of this run", run_id=run.pk)
        if not items:
            return format_html("None. {}", more)
        return format_html("{}{}", link_list(items), more)

    # --- actions and deletes, all through the services -------------------------------

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

    @admin.action(
        description="Roll back selected runs (delete with their checkpoints)",
        permissions=["delete"],
    )
    def rollback_runs(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        self._each(request, queryset, CancelAction.ROLLBACK, "Rolled back")

    def get_deleted_objects(
        self, objs: Any, request: HttpRequest
    ) -> tuple[list[Any], dict[str, int], set[str], list[Any]]:
        """What the delete confirmation lists. A run's checkpoints are read-only in the
        admin but go with it through run_delete, so they need no permission of their own."""
        runs = list(objs)
        ids = [str(run.pk) for run in runs]
        checkpoints = Checkpoint.objects.filter(run_id__in=ids).count()
        writes = CheckpointWrite.objects.filter(run_id__in=ids).count()
        described = [
            format_html(
                "Run {} ({}){}",
                admin_link(Run, run.pk),
                run.status,
                ": it is still active and will be rolled back"
                if run.status in ACTIVE_STATUSES
                else "",
            )
            for run in runs
        ]
        return (
            described,
            {"runs": len(runs), "checkpoints": checkpoints, "pending writes": writes},
            set(),
            [],
        )

    def delete_model(self, request: HttpRequest, obj: Run) -> None:
        deleted = services.run_delete(thread_id=obj.thread_id, run_id=obj.run_id)
        verb = "Rolled back and deleted" if obj.status in ACTIVE_STATUSES else "Deleted"
        self.message_user(request, f"{verb} {describe_counts(deleted)}.")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Run]) -> None:
        wanted = list(queryset.values_list("pk", flat=True))
        deleted = services.runs_purge(run_ids=wanted)
        self.message_user(request, f"Deleted {describe_counts(deleted)}.")
        if deleted["runs"] < len(wanted):
            gone = len(wanted) - deleted["runs"]
            self.message_user(
                request,
                ngettext("%d run was already gone.", "%d runs were already gone.", gone) % gone,
                level=messages.WARNING,
            )
