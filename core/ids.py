"""Time-ordered ids (UUIDv7), as the official server uses for threads and runs."""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A UUIDv7 whose 12-bit sub-field counts within a millisecond, so ids made here sort in order."""
    global _last_ms, _counter
    with _lock:
        ms = time.time_ns() // 1_000_000
        if ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            ms = _last_ms
        else:
            _last_ms = ms
            _counter = 0
        counter = _counter
    rand = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand
    return uuid.UUID(int=value)


def parse_path_id(value: str, what: str) -> uuid.UUID:
    """A UUID from a URL path segment; anything else is the official 422 for `what`."""
    from core.errors import InvalidInput

    try:
        return uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise InvalidInput(f"Invalid {what} ID: must be a UUID") from None
