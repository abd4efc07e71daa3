"""What the checkpointer keeps in the process's blob cache (threads/blob_cache.py): values of
versions only this saver can have made."""

from __future__ import annotations

from typing import Any

from threads.blob_cache import BlobKey, blob_cache
from threads.checkpointer.lists import ListValue

# Cached in place of an "empty" blob row.
EMPTY = ("empty", b"")


def own_version(version: str) -> bool:
    """Whether DjangoSaver.get_next_version made this version: then no other value can
    ever be stored under it, even after a delete, and it may be cached."""
    return len(version) == 49 and version[32] == "."


def cache_blob(key: BlobKey, value: Any) -> Any:
    if not own_version(key[3]):
        return value
    if isinstance(value, ListValue):
        blob_cache.put(key, value, value.size())
    else:
        blob_cache.put(key, value, len(value[1] or b""))
    return value
