"""A process-wide, byte-bounded cache of serialized checkpoint blobs.

A blob is immutable once written: its key (thread, namespace, channel, version) always
names the same value, because DjangoSaver versions carry a random suffix. A cached
entry therefore never goes stale; a deleted blob is simply never asked for again.
Entries are serialized bytes, never live objects, so no caller can change what another
reads.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from django.conf import settings

BlobKey = tuple[str, str, str, str]  # thread_id, checkpoint_ns, channel, version

# Per-element bookkeeping that the byte count of the payload leaves out.
_ENTRY_OVERHEAD = 64


class BlobCache:
    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[BlobKey, tuple[Any, int]] = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key: BlobKey) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            return entry[0]

    def put(self, key: BlobKey, value: Any, size: int) -> None:
        size += _ENTRY_OVERHEAD
        if size > self.max_bytes:
            return
        with self._lock:
            previous = self._entries.pop(key, None)
            if previous is not None:
                self._size -= previous[1]
            self._entries[key] = (value, size)
            self._size += size
            while self._size > self.max_bytes:
                _key, (_value, evicted) = self._entries.popitem(last=False)
                self._size -= evicted

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._size = 0

    def __len__(self) -> int:
        return len(self._entries)


blob_cache = BlobCache(settings.SPINDLE_CHECKPOINT_CACHE_MB * 1024 * 1024)
