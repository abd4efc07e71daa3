"""Reads of the store: one item, a search (filtered, optionally ranked by similarity),
and the namespaces in use. Expired items are never returned."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from langgraph.store.base import Item, SearchItem

from store import filters, pgvector, vectors
from store.models import StoreItem, StoreVector, join_namespace, split_namespace

# Rows read per round trip while a filter is applied in Python.
SCAN_CHUNK = 500
# The most vectors one ranked search asks pgvector's index for.
MAX_INDEX_FETCH = 100_000


def alive(now: Any = None) -> QuerySet[StoreItem]:
    now = now or timezone.now()
    return StoreItem.objects.filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))


def under_prefix(queryset: QuerySet[StoreItem], prefix: Sequence[str]) -> QuerySet[StoreItem]:
    if not prefix:
        return queryset
    joined = join_namespace(prefix)
    return queryset.filter(Q(namespace=joined) | Q(namespace__startswith=joined + "."))


def to_item(row: StoreItem) -> Item:
    return Item(
        namespace=row.namespace_tuple,
        key=row.key,
        value=row.value,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def to_search_item(row: StoreItem, score: float | None) -> SearchItem:
    return SearchItem(
        namespace=row.namespace_tuple,
        key=row.key,
        value=row.value,
        created_at=row.created_at,
        updated_at=row.updated_at,
        score=score,
    )


def item_get(*, namespace: Sequence[str], key: str, refresh_ttl: bool) -> Item | None:
    row = alive().filter(namespace=join_namespace(namespace), key=key).first()
    if row is None:
        return None
    if refresh_ttl:
        refresh([row])
    return to_item(row)


def items_search(
    *,
    namespace_prefix: Sequence[str],
    filter: dict[str, Any] | None,
    limit: int,
    offset: int,
    query_vector: Sequence[float] | None,
    refresh_ttl: bool,
) -> list[SearchItem]:
    """Items under the prefix that pass the filter, newest first; with a query vector,
    the items with embeddings ranked by similarity (best first), then those without."""
    candidates = under_prefix(alive(), namespace_prefix)
    if query_vector is None:
        page = _page(_filtered(candidates.order_by("-updated_at", "-id"), filter), offset, limit)
        results: list[tuple[StoreItem, float | None]] = [(row, None) for row in page]
    elif pgvector.available(len(query_vector)):
        results = _ranked_by_index(candidates, filter, query_vector, offset + limit)[
            offset : offset + limit
        ]
    else:
        results = _ranked(candidates, filter, query_vector)[offset : offset + limit]
    if refresh_ttl:
        refresh([row for row, _ in results])
    return [to_search_item(row, score) for row, score in results]


def _filtered(queryset: QuerySet[StoreItem], filter: dict[str, Any] | None) -> Iterator[StoreItem]:
    for row in queryset.iterator(chunk_size=SCAN_CHUNK):
        if filters.matches(row.value, filter):
            yield row


def _page(rows: Iterator[StoreItem], offset: int, limit: int) -> list[StoreItem]:
    page: list[StoreItem] = []
    for index, row in enumerate(rows):
        if index >= offset + limit:
            break
        if index >= offset:
            page.append(row)
    return page


def _ranked(
    candidates: QuerySet[StoreItem], filter: dict[str, Any] | None, query_vector: Sequence[float]
) -> list[tuple[StoreItem, float | None]]:
    """An exact scan: every candidate's vectors against the query (the fallback where
    pgvector is not available)."""
    best: dict[int, float] = {}
    rows = StoreVector.objects.filter(item__in=candidates.values("id")).values_list(
        "item_id", "embedding"
    )
    for item_id, packed in rows.iterator(chunk_size=SCAN_CHUNK):
        score = vectors.cosine(query_vector, vectors.unpack(packed))
        if item_id not in best or score > best[item_id]:
            best[item_id] = score
    scored: list[tuple[StoreItem, float]] = []
    unscored: list[tuple[StoreItem, float | None]] = []
    for row in _filtered(candidates.order_by("-updated_at", "-id"), filter):
        if row.pk in best:
            scored.append((row, best[row.pk]))
        else:
            unscored.append((row, None))
    scored.sort(key=lambda pair: pair[1], reverse=True)
    return [*scored, *unscored]


def _ranked_by_index(
    candidates: QuerySet[StoreItem],
    filter: dict[str, Any] | None,
    query_vector: Sequence[float],
    want: int,
) -> list[tuple[StoreItem, float | None]]:
    """pgvector: ask the index for the nearest vectors, more of them while the filter
    leaves too few; once every embedded item is ranked, the items without embeddings follow."""
    dims = len(query_vector)
    subquery = candidates.values("id").query.sql_with_params()
    count = max(4 * want, 40)
    while True:
        pairs = pgvector.nearest(subquery, dims, query_vector, count)
        rows = StoreItem.objects.in_bulk([item_id for item_id, _ in pairs])
        scored: list[tuple[StoreItem, float | None]] = [
            (rows[item_id], score)
            for item_id, score in pairs
            if item_id in rows and filters.matches(rows[item_id].value, filter)
        ]
        exhausted = len(pairs) < count
        if len(scored) >= want or exhausted or count >= MAX_INDEX_FETCH:
            break
        count *= 4
    # Equal scores: the newer item first, as in the exact scan.
    scored.sort(key=lambda pair: (-(pair[1] or 0.0), -pair[0].updated_at.timestamp(), -pair[0].pk))
    if len(scored) < want and exhausted:
        embedded = {item_id for item_id, _ in pairs}
        for row in _filtered(candidates.order_by("-updated_at", "-id"), filter):
            if row.pk not in embedded and not pgvector.has_vectors([row.pk], dims):
                scored.append((row, None))
                if len(scored) >= want:
                    break
    return scored


def refresh(rows: Sequence[StoreItem]) -> None:
    """Push the expiry of items read with refresh_ttl forward by their own TTL."""
    now = timezone.now()
    by_ttl: dict[float, list[int]] = {}
    for row in rows:
        if row.ttl_minutes is not None:
            by_ttl.setdefault(row.ttl_minutes, []).append(row.pk)
    for minutes, ids in by_ttl.items():
        StoreItem.objects.filter(pk__in=ids).update(expires_at=now + timedelta(minutes=minutes))


def namespaces_list(
    *,
    prefix: Sequence[str] | None,
    suffix: Sequence[str] | None,
    max_depth: int | None,
    limit: int,
    offset: int,
) -> list[tuple[str, ...]]:
    """The distinct namespaces of live items matching prefix and suffix ("*" matches any
    label), cut to max_depth labels, sorted."""
    queryset = alive()
    if prefix and "*" not in prefix:
        queryset = under_prefix(queryset, prefix)
    found: set[tuple[str, ...]] = set()
    for text in (
        queryset.order_by()
        .values_list("namespace", flat=True)
        .distinct()
        .iterator(chunk_size=SCAN_CHUNK)
    ):
        namespace = split_namespace(text)
        if prefix and not _matches(namespace, prefix):
            continue
        if suffix and not _matches(namespace[::-1], suffix[::-1]):
            continue
        found.add(namespace[:max_depth] if max_depth else namespace)
    return sorted(found)[offset : offset + limit]


def _matches(namespace: tuple[str, ...], path: Sequence[str]) -> bool:
    if len(namespace) < len(path):
        return False
    return all(want in ("*", have) for have, want in zip(namespace, path, strict=False))
