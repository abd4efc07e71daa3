"""Admin for store items: browse and search by namespace and key, delete. Values change
through the API or graphs only, so their embeddings stay in step."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from store.models import StoreItem


@admin.register(StoreItem)
class StoreItemAdmin(admin.ModelAdmin):
    list_display = ("namespace", "key", "updated_at", "expires_at")
    search_fields = ("namespace", "key")
    ordering = ("namespace", "key")
    show_full_result_count = False

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in StoreItem._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
