"""Store items (namespace, key, JSON value, TTL) and the embeddings of their indexed fields."""

from __future__ import annotations

from collections.abc import Sequence

from django.db import models

# Namespace labels never contain a period (the API joins them with one, as the SDK does),
# so a namespace is kept as one text column: a prefix is then a LIKE 'a.b.%' away.
NAMESPACE_SEPARATOR = "."


class StoreItem(models.Model):
    namespace = models.TextField()
    key = models.TextField()
    value = models.JSONField()
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    # NULL: never expires. ttl_minutes is kept to push expires_at forward on reads.
    expires_at = models.DateTimeField(null=True, blank=True)
    ttl_minutes = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["namespace", "key"], name="store_item_namespace_key"),
        ]
        indexes = [
            models.Index(fields=["expires_at"], name="store_item_expires_idx"),
            models.Index(fields=["updated_at"], name="store_item_updated_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.namespace}/{self.key}"

    @property
    def namespace_tuple(self) -> tuple[str, ...]:
        return split_namespace(self.namespace)


class StoreVector(models.Model):
    """One embedded field of an item: float32 values, packed."""

    item = models.ForeignKey(StoreItem, on_delete=models.CASCADE, related_name="vectors")
    field_path = models.TextField()
    embedding = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "field_path"], name="store_vector_item_field"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id}:{self.field_path}"


def join_namespace(namespace: Sequence[str]) -> str:
    return NAMESPACE_SEPARATOR.join(namespace)


def split_namespace(text: str) -> tuple[str, ...]:
    return tuple(text.split(NAMESPACE_SEPARATOR)) if text else ()
