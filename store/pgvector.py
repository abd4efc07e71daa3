"""pgvector on PostgreSQL: where `CREATE EXTENSION vector` succeeds, an item's embeddings
live in a vector table with an HNSW index (one table per dimension count) and a query is
ranked by the index; elsewhere (no extension, SQLite) StoreVector and an exact scan."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from django.db import DatabaseError, connection, transaction

from store.models import StoreItem

logger = logging.getLogger(__name__)

_ITEMS = StoreItem._meta.db_table
_known: dict[tuple[Any, ...], bool] = {}
_lock = threading.Lock()


def table(dims: int) -> str:
    return f"store_itemvector_{dims}"


def available(dims: int) -> bool:
    """Whether this database has pgvector and the vector table for `dims` (created on first
    use: the dimension count comes from langgraph.json, not from a migration)."""
    if connection.vendor != "postgresql":
        return False
    params = connection.settings_dict
    key = (params.get("HOST"), params.get("PORT"), params.get("NAME"), dims)
    with _lock:
        if key not in _known:
            _known[key] = _setup(dims)
        return _known[key]


def _setup(dims: int) -> bool:
    name = table(dims)
    for attempt in range(2):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'vector'")
                if cursor.fetchone() is None:
                    cursor.execute("CREATE EXTENSION IF NOT EXISTS vector")
                cursor.execute(
                    f"CREATE TABLE IF NOT EXISTS {name} ("
                    f" item_id bigint NOT NULL REFERENCES {_ITEMS} (id) ON DELETE CASCADE,"
                    " field_path text NOT NULL,"
                    f" embedding vector({dims}) NOT NULL,"
                    " PRIMARY KEY (item_id, field_path))"
                )
                cursor.execute(
                    f"CREATE INDEX IF NOT EXISTS {name}_hnsw ON {name} USING hnsw (embedding vector_cosine_ops)"
                )
            logger.info("Store: semantic search uses pgvector (%s)", name)
            return True
        except DatabaseError as exc:
            # Two processes creating the table at once: the loser's IF NOT EXISTS can still
            # collide in the catalog; once more finds it there.
            if attempt == 0 and "already exists" in str(exc):
                continue
            logger.info("Store: pgvector not available (%s); semantic search scans exactly", exc)
            return False
    return False


def literal(vector: Sequence[float]) -> str:
    return "[" + ",".join(repr(float(x)) for x in vector) + "]"


def replace_vectors(
    item_id: int, dims: int, embeddings: list[tuple[str, Sequence[float]]] | None
) -> None:
    name = table(dims)
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {name} WHERE item_id = %s", [item_id])
        for path, vector in embeddings or ():
            cursor.execute(
                f"INSERT INTO {name} (item_id, field_path, embedding) VALUES (%s, %s, %s::vector)",
                [item_id, path, literal(vector)],
            )


def nearest(
    item_ids_sql: tuple[str, Sequence[Any]], dims: int, query: Sequence[float], count: int
) -> list[tuple[int, float]]:
    """Up to `count` (item id, cosine similarity) of the candidate items, nearest first,
    by the HNSW index (approximate, as pgvector's index is); an item with several
    embedded fields scores by its best."""
    name = table(dims)
    candidates, params = item_ids_sql
    with transaction.atomic(), connection.cursor() as cursor:
        # The index returns at most ef_search rows before the WHERE: ask for enough.
        cursor.execute(f"SET LOCAL hnsw.ef_search = {max(40, min(count, 1000))}")
        cursor.execute(
            f"SELECT v.item_id, 1 - (v.embedding <=> %s::vector) FROM {name} v"
            f" WHERE v.item_id IN ({candidates}) ORDER BY v.embedding <=> %s::vector LIMIT %s",
            [literal(query), *params, literal(query), count],
        )
        rows = cursor.fetchall()
    best: dict[int, float] = {}
    for item_id, score in rows:
        best.setdefault(item_id, float(score))
    return list(best.items())


def has_vectors(item_ids: Sequence[int], dims: int) -> set[int]:
    if not item_ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT item_id FROM {table(dims)} WHERE item_id = ANY(%s)", [list(item_ids)]
        )
        return {row[0] for row in cursor.fetchall()}
