"""Read-mostly admin for assistants and their versions; deletes go through the service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import ngettext

from assistants import services
from assistants.models import Assistant, AssistantVersion
from config.errors import SpindleError


class AssistantVersionInline(admin.TabularInline):
    model = AssistantVersion
    extra = 0
    can_delete = False
    fields = (
        "version",
        "graph_id",
        "name",
        "description",
        "config",
        "context",
        "metadata",
        "created_at",
    )
    readonly_fields = fields
    ordering = ("-version",)

    def has_add_permission(self, request: HttpRequest, obj: Assistant | None = None) -> bool:
        return False


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    list_display = ("assistant_id", "graph_id", "name", "version", "updated_at")
    list_filter = ("graph_id",)
    search_fields = ("assistant_id", "name")
    ordering = ("-created_at",)
    readonly_fields = (
        "assistant_id",
        "graph_id",
        "name",
        "description",
        "config",
        "context",
        "metadata",
        "version",
        "created_at",
        "updated_at",
    )
    inlines = (AssistantVersionInline,)

    # Creating and editing go through the API, which writes versions; the admin only reads
    # and deletes.
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Assistant | None = None) -> bool:
        return False

    def delete_model(self, request: HttpRequest, obj: Assistant) -> None:
        services.assistant_delete(assistant_id=obj.assistant_id)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Assistant]) -> None:
        failed = 0
        for assistant_id in queryset.values_list("assistant_id", flat=True):
            try:
                services.assistant_delete(assistant_id=assistant_id)
            except SpindleError:
                failed += 1
        if failed:
            # Another request deleted them first; Django reports the rest as deleted.
            self.message_user(
                request,
                ngettext(
                    "%d assistant was already gone.", "%d assistants were already gone.", failed
                )
                % failed,
                level=messages.WARNING,
            )
