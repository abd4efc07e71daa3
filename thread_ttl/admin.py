"""Read-only admin for thread TTLs."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Model
from django.http import HttpRequest

from thread_ttl.models import ThreadTTL


@admin.register(ThreadTTL)
class ThreadTTLAdmin(admin.ModelAdmin):
    list_display = ("thread", "strategy", "ttl_minutes", "expires_at")
    list_filter = ("strategy",)
    raw_id_fields = ("thread",)

    def get_readonly_fields(self, request: HttpRequest, obj: Model | None = None) -> list[str]:
        return [f.name for f in ThreadTTL._meta.fields]

    def has_add_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Model | None = None) -> bool:
        return False
