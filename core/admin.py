"""What every admin page shows the same way: pretty JSON, precise times, links, messages."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from django.contrib import admin
from django.core.paginator import Paginator
from django.db.models import Model, QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from core.json import to_jsonable


def pretty_json(value: Any) -> SafeString:
    """A JSON value indented, in a <pre> that keeps its lines (escaped)."""
    text = json.dumps(to_jsonable(value), indent=2, ensure_ascii=False, sort_keys=False)
    return format_html('<pre class="spindle-json">{}</pre>', text)


def json_field(name: str, description: str | None = None) -> Any:
    """A read-only admin display of the JSON field `name`, pretty-printed."""

    @admin.display(description=description or name.replace("_", " "))
    def show(self: Any, obj: Model) -> SafeString:
        return pretty_json(getattr(obj, name))

    show.__name__ = f"{name}_json"
    return show


def precise_time(value: datetime | None) -> str:
    """A timestamp in UTC to the millisecond ("2026-11-30 13:01:59.123")."""
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def duration(start: datetime | None, end: datetime | None) -> str:
    """The time between two timestamps, to the millisecond ("1.504 s")."""
    if start is None or end is None:
        return "-"
    return f"{(end - start) / timedelta(seconds=1):.3f} s"


def admin_link(
    obj_or_model: Model | type[Model], pk: Any, text: Any | None = None, **query: Any
) -> SafeString:
    """A link to an object's admin page, or (pk None) to its changelist filtered by `query`."""
    meta = obj_or_model._meta
    if pk is None:
        url = reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist")
        if query:
            url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
        return format_html('<a href="{}">{}</a>', url, text or meta.verbose_name_plural)
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else pk)


def fieldset_names(fieldsets: Any) -> list[str]:
    """The field names of a ModelAdmin's fieldsets, lines of several fields included."""
    names: list[str] = []
    for _, box in fieldsets or ():
        for entry in box["fields"]:
            names.extend([entry] if isinstance(entry, str) else entry)
    return names


def link_list(items: Sequence[tuple[SafeString | str, SafeString | str]]) -> SafeString:
    """Rows of (label, html) as a compact list."""
    return format_html(
        '<ul class="spindle-list">{}</ul>', format_html_join("", "<li>{} {}</li>", items)
    )


def message_text(message: Any) -> tuple[str, str]:
    """(role, text) of a message as the API stores it: a dict with type/role and content,
    content a string or a list of parts."""
    if not isinstance(message, Mapping):
        return "?", str(message)
    role = str(message.get("type") or message.get("role") or "?")
    content = message.get("content")
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, Mapping):
                parts.append(str(part.get("text") or json.dumps(to_jsonable(part))))
            else:
                parts.append(str(part))
        text = "\n".join(parts)
    else:
        text = "" if content is None else str(content)
    calls = message.get("tool_calls") or []
    for call in calls:
        if isinstance(call, Mapping):
            args = json.dumps(to_jsonable(call.get("args")), ensure_ascii=False)
            text += f"\n→ calls {call.get('name')}({args})"
    return role, text.strip()


def messages_html(messages: Any) -> SafeString:
    """A conversation as a table of role and text."""
    if not isinstance(messages, list) or not messages:
        return format_html("<p>{}</p>", "No messages.")
    rows = format_html_join(
        "",
        '<tr class="spindle-message"><th class="spindle-role">{}</th>'
        '<td class="spindle-text" style="white-space: pre-wrap">{}</td></tr>',
        (message_text(m) for m in messages),
    )
    return format_html('<table class="spindle-messages">{}</table>', rows)


class CappedCountPaginator(Paginator):
    """Counts at most CAP rows: COUNT(*) over a big checkpoint or run table is a full scan."""

    CAP = 10_000

    @cached_property
    def count(self) -> int:
        # Admin change lists always page a QuerySet.
        return cast(QuerySet, self.object_list).order_by()[: self.CAP].count()


class InputFilter(admin.SimpleListFilter):
    """A list filter with a text box (an id to filter by), instead of a list of choices."""

    template = "admin/spindle_input_filter.html"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        # Non-empty, or Django hides the filter.
        return [("", "")]

    def choices(self, changelist: Any) -> Any:
        # The template reads the current value and the other parameters to keep.
        others = {
            key: value[-1] if isinstance(value, list) else value
            for key, value in changelist.get_filters_params().items()
            if key != self.parameter_name
        }
        yield {"value": self.value() or "", "others": others, "parameter_name": self.parameter_name}

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = (self.value() or "").strip()
        return self.filter(queryset, value) if value else queryset

    def filter(self, queryset: QuerySet, value: str) -> QuerySet:
        return queryset.filter(**{str(self.parameter_name): value})
