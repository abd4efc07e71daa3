"""Writes to the store: put (with its embeddings) and delete an item, sweep expired items."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from store import pgvector, vectors
from store.models import StoreItem, StoreVector, join_namespace

logger = logging.getLogger(__name__)

SWEEP_BATCH = 1000


def item_put(
    *,
    namespace: Sequence[str],
    key: str,
    value: Mapping[str, Any],
    ttl_minutes: float | None,
    embeddings: list[tuple[str, Sequence[float]]] | None,
    dims: int | None = None,
) -> None:
    """Create or replace an item. `embeddings` (field path, vector) replace the item's
    vectors; None leaves it without any (not indexed). `dims`: the index's dimensions."""
    now = timezone.now()
    expires_at = now + timedelta(minutes=ttl_minutes) if ttl_minutes is not None else None
    fields = {
        "value": value,
        "updated_at": now,
        "expires_at": expires_at,
        "ttl_minutes": ttl_minutes,
    }
    joined = join_namespace(namespace)
    for attempt in range(2):
        try:
            with transaction.atomic():
                # An expired item that the sweeper has not reached yet is replaced like a live one,
                # but starts a new life (created_at).
                updated = (
                    StoreItem.objects.filter(namespace=joined, key=key)
                    .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
                    .update(**fields)
                )
                if updated:
                    item_id = (
                        StoreItem.objects.filter(namespace=joined, key=key)
                        .values_list("id", flat=True)
                        .get()
                    )
                else:
                    StoreItem.objects.filter(namespace=joined, key=key).delete()
                    item_id = StoreItem.objects.create(
                        namespace=joined, key=key, created_at=now, **fields
                    ).pk
                _replace_vectors(item_id, embeddings, dims)
            return
        except IntegrityError:
            # Another put created the same item between our update and insert: update it.
            if attempt:
                raise


def _replace_vectors(
    item_id: int, embeddings: list[tuple[str, Sequence[float]]] | None, dims: int | None
) -> None:
    if dims is not None and pgvector.available(dims):
        pgvector.replace_vectors(item_id, dims, embeddings)
        return
    StoreVector.objects.filter(item_id=item_id).delete()
    if embeddings:
        StoreVector.objects.bulk_create(
            StoreVector(item_id=item_id, field_path=path, embedding=vectors.pack(vector))
            for path, vector in embeddings
        )


def item_delete(*, namespace: Sequence[str], key: str) -> None:
    StoreItem.objects.filter(namespace=join_namespace(namespace), key=key).delete()


def items_sweep_expired(*, batch_size: int = SWEEP_BATCH) -> int:
    """Delete expired items (and their vectors) in id batches, one transaction each."""
    deleted = 0
    while True:
        ids = list(
            StoreItem.objects.filter(expires_at__lte=timezone.now()).values_list("id", flat=True)[
                :batch_size
            ]
        )
        if not ids:
            return deleted
        with transaction.atomic():
            StoreItem.objects.filter(pk__in=ids, expires_at__lte=timezone.now()).delete()
        deleted += len(ids)
