"""Admin for assistants: list, edit (each save writes a new version through the service,
with the graph drawn), delete through the service; versions are read-only."""

from __future__ import annotations

import json
from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.safestring import SafeString
from django.utils.translation import ngettext

from assistants import selectors, services
from assistants.graphs import GraphRegistryError, graph_ids
from assistants.models import Assistant, AssistantVersion
from core.admin import json_field, precise_time
from core.errors import SpindleError


class PrettyJSONField(forms.JSONField):
    """A JSON form field whose text box shows the value indented."""

    def prepare_value(self, value: Any) -> str:
        if isinstance(value, str):
            return value  # what the user typed, redisplayed after an error
        return json.dumps(value, indent=2, ensure_ascii=False)


JSON_TEXTAREA = {
    "form_class": PrettyJSONField,
    "widget": forms.Textarea(attrs={"rows": 8, "cols": 80}),
}


class AssistantForm(forms.ModelForm):
    graph_id = forms.ChoiceField(choices=())

    class Meta:
        model = Assistant
        fields = ("graph_id", "name", "description", "config", "context", "metadata")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        try:
            choices = graph_ids()
        except GraphRegistryError:
            choices = []
        current = self.instance.graph_id if self.instance and self.instance.graph_id else None
        if current and current not in choices:
            choices.append(current)
        graph_field = cast(forms.ChoiceField, self.fields["graph_id"])  # declared above
        graph_field.choices = [(graph_id, graph_id) for graph_id in choices]


class AssistantVersionInline(admin.TabularInline):
    model = AssistantVersion
    extra = 0
    can_delete = False
    fields = (
        "version",
        "graph_id",
        "name",
        "description",
        "config_json",
        "context_json",
        "metadata_json",
        "created",
    )
    readonly_fields = fields
    ordering = ("-version",)
    config_json = json_field("config")
    context_json = json_field("context")
    metadata_json = json_field("metadata")

    @admin.display(description="created")
    def created(self, version: AssistantVersion) -> str:
        return precise_time(version.created_at)

    def has_add_permission(self, request: HttpRequest, obj: Assistant | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Assistant | None = None) -> bool:
        return False


@admin.register(Assistant)
class AssistantAdmin(admin.ModelAdmin):
    form = AssistantForm
    list_display = ("assistant_id", "graph_id", "name", "version", "updated")
    list_filter = ("graph_id",)
    search_fields = ("assistant_id", "name")
    ordering = ("-created_at",)
    formfield_overrides = {models.JSONField: JSON_TEXTAREA}
    inlines = (AssistantVersionInline,)

    class Media:
        js = ("assistants/mermaid.min.js", "assistants/graph.js")

    def get_fieldsets(self, request: HttpRequest, obj: Assistant | None = None) -> Any:
        editable = {"fields": ("graph_id", "name", "description", "config", "context", "metadata")}
        if obj is None:
            return ((None, editable),)
        return (
            (None, {"fields": ("assistant_id", "version", "created", "updated")}),
            ("Graph", {"fields": ("graph_drawing",)}),
            ("Edit (saving writes a new version)", editable),
        )

    def get_readonly_fields(
        self, request: HttpRequest, obj: Assistant | None = None
    ) -> tuple[str, ...]:
        return ("assistant_id", "version", "created", "updated", "graph_drawing") if obj else ()

    @admin.display(description="created")
    def created(self, assistant: Assistant) -> str:
        return precise_time(assistant.created_at)

    @admin.display(description="updated", ordering="updated_at")
    def updated(self, assistant: Assistant) -> str:
        return precise_time(assistant.updated_at)

    @admin.display(description="drawing")
    def graph_drawing(self, assistant: Assistant) -> SafeString:
        try:
            drawing = selectors.assistant_mermaid(assistant)
        except Exception as exc:  # the graph fails to import or to build: say so on the page
            return format_html(
                '<p class="errornote">Cannot draw graph {}: {}</p>', assistant.graph_id, exc
            )
        return format_html('<pre class="mermaid spindle-graph">{}</pre>', drawing)

    def save_model(
        self, request: HttpRequest, obj: Assistant, form: forms.ModelForm, change: bool
    ) -> None:
        data = form.cleaned_data
        fields = {
            "graph_id": data["graph_id"],
            "name": data["name"],
            "description": data.get("description"),
            "config": data.get("config") or {},
            "context": data.get("context") or {},
            "metadata": data.get("metadata") or {},
        }
        try:
            if change:
                saved = services.assistant_update(assistant_id=obj.pk, **fields)
            else:
                saved = services.assistant_create(assistant_id=obj.pk, **fields)
        except SpindleError as exc:
            self.message_user(request, exc.detail, level=messages.ERROR)
            return
        # Django's change view reads the object back for its message and redirect.
        for field in ("version", "created_at", "updated_at", "metadata"):
            setattr(obj, field, getattr(saved, field))
        self.message_user(request, f"Saved as version {saved.version}.")

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
