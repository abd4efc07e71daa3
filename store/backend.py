"""DjangoStore: langgraph's BaseStore on the store's Django models, the one memory that
every run and the API share."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor
from typing import Any, TypeVar

from asgiref.sync import sync_to_async
from langgraph.store.base import (
    NOT_PROVIDED,
    BaseStore,
    GetOp,
    ListNamespacesOp,
    Op,
    PutOp,
    Result,
    SearchOp,
)

from core.db.thread import off_loop
from store import selectors, services, vectors
from store.config import StoreSettings, store_settings

T = TypeVar("T")

# Per op of a batch: its embeddings, computed before the database is touched.
# PutOp: [(field_path, vector)] or None; SearchOp: the query vector or None.
Embedded = dict[int, Any]


class DjangoStore(BaseStore):
    """The store as langgraph graphs use it (`store: BaseStore`, `get_store()`,
    `runtime.store`).

    TTLs and the semantic index come from langgraph.json's `store` section. Sync calls use
    the ORM on the calling thread; async ones compute embeddings on the event loop, then
    run the same code on `executor` (the run engine's database thread) or, without one,
    through `sync_to_async`.
    """

    supports_ttl = True

    def __init__(
        self, *, executor: Executor | None = None, config: StoreSettings | None = None
    ) -> None:
        self.executor = executor
        self.config = config or store_settings()
        self.ttl_config = self.config.ttl  # type: ignore[assignment]

    # --- BaseStore --------------------------------------------------------------

    def batch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        embedded = self._embed(ops)
        if self.executor is not None:
            # A synchronous node calls this from a thread of its own: the database work
            # goes to the executor's thread (and connection), not to a new one per thread.
            return self.executor.submit(self._execute, ops, embedded).result()
        return self._execute(ops, embedded)

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        ops = list(ops)
        embedded = await self._aembed(ops)
        return await self._off_loop(self._execute, ops, embedded)

    # --- embeddings ---------------------------------------------------------------

    def _texts(self, ops: list[Op]) -> tuple[list[tuple[int, str, str]], list[tuple[int, str]]]:
        """(op index, field path, text) to embed for puts, (op index, query) for searches."""
        documents: list[tuple[int, str, str]] = []
        queries: list[tuple[int, str]] = []
        index = self.config.index
        if index is None:
            return documents, queries
        for position, op in enumerate(ops):
            if isinstance(op, PutOp) and op.value is not None and op.index is not False:
                fields = index.fields if op.index is None else op.index
                documents.extend(
                    (position, path, text)
                    for path, text in vectors.texts_to_embed(op.value, fields)
                )
            elif isinstance(op, SearchOp) and op.query:
                queries.append((position, op.query))
        return documents, queries

    def _collect(
        self,
        ops: list[Op],
        documents: list[tuple[int, str, str]],
        doc_vectors: Sequence[Sequence[float]],
        queries: list[tuple[int, str]],
        query_vectors: Sequence[Sequence[float]],
    ) -> Embedded:
        assert self.config.index is not None
        vectors.check_dims(self.config.index, [*doc_vectors, *query_vectors])
        embedded: Embedded = {}
        for position, op in enumerate(ops):
            if isinstance(op, PutOp) and op.value is not None and op.index is not False:
                embedded[position] = []
        for (position, path, _text), vector in zip(documents, doc_vectors, strict=True):
            embedded[position].append((path, list(vector)))
        for (position, _query), vector in zip(queries, query_vectors, strict=True):
            embedded[position] = list(vector)
        return embedded

    def _embed(self, ops: list[Op]) -> Embedded:
        documents, queries = self._texts(ops)
        if not documents and not queries:
            return {}
        embeddings = self.config.index.embeddings  # type: ignore[union-attr]
        doc_vectors = (
            embeddings.embed_documents([text for _, _, text in documents]) if documents else []
        )
        query_vectors = [embeddings.embed_query(query) for _, query in queries]
        return self._collect(ops, documents, doc_vectors, queries, query_vectors)

    async def _aembed(self, ops: list[Op]) -> Embedded:
        documents, queries = self._texts(ops)
        if not documents and not queries:
            return {}
        embeddings = self.config.index.embeddings  # type: ignore[union-attr]
        doc_vectors = (
            await embeddings.aembed_documents([text for _, _, text in documents])
            if documents
            else []
        )
        query_vectors = [await embeddings.aembed_query(query) for _, query in queries]
        return self._collect(ops, documents, doc_vectors, queries, query_vectors)

    # --- the database -----------------------------------------------------------

    def _execute(self, ops: list[Op], embedded: Embedded) -> list[Result]:
        results: list[Result] = []
        for position, op in enumerate(ops):
            if isinstance(op, GetOp):
                results.append(
                    selectors.item_get(
                        namespace=op.namespace, key=op.key, refresh_ttl=bool(op.refresh_ttl)
                    )
                )
            elif isinstance(op, SearchOp):
                results.append(
                    selectors.items_search(
                        namespace_prefix=op.namespace_prefix,
                        filter=op.filter,
                        limit=op.limit,
                        offset=op.offset,
                        query_vector=embedded.get(position),
                        refresh_ttl=bool(op.refresh_ttl),
                    )
                )
            elif isinstance(op, ListNamespacesOp):
                prefix = suffix = None
                for condition in op.match_conditions or ():
                    if condition.match_type == "prefix":
                        prefix = condition.path
                    elif condition.match_type == "suffix":
                        suffix = condition.path
                results.append(
                    selectors.namespaces_list(
                        prefix=prefix,
                        suffix=suffix,
                        max_depth=op.max_depth,
                        limit=op.limit,
                        offset=op.offset,
                    )
                )
            elif isinstance(op, PutOp):
                if op.value is None:
                    services.item_delete(namespace=op.namespace, key=op.key)
                else:
                    # PutOp types ttl as float | None, but BaseStore.put passes NOT_PROVIDED on.
                    ttl: Any = op.ttl
                    if ttl is NOT_PROVIDED:
                        ttl = (self.ttl_config or {}).get("default_ttl")
                    services.item_put(
                        namespace=op.namespace,
                        key=op.key,
                        value=op.value,
                        ttl_minutes=ttl,
                        embeddings=embedded.get(position),
                        dims=self.config.index.dims if self.config.index else None,
                    )
                results.append(None)
            else:
                raise ValueError(f"Unknown store operation: {type(op).__name__}")
        return results

    async def _off_loop(self, fn: Callable[..., T], /, *args: Any) -> T:
        if self.executor is None:
            return await sync_to_async(fn, thread_sensitive=True)(*args)
        return await off_loop(self.executor, fn, *args)
