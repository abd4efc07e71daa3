"""List channel values stored element by element: the framing of elements in a blob and the
digest chained over them (to find an earlier version a new value extends)."""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.checkpoint.serde.base import SerializerProtocol

# Blob type of a list value stored element by element (see CheckpointBlob).
LIST_BLOB_TYPE = "spindle.list"
# Blob type of a channel listed in new_versions that has no value.
EMPTY_BLOB_TYPE = "empty"

_ELEMENT_HEADER = struct.Struct(">HI")
_DIGEST_SEED = hashlib.sha256(b"spindle.list").digest()


@dataclass
class ListValue:
    """A list channel value serialized element by element.

    `digest` is the hash chained over the serialized elements (hex), as stored in
    CheckpointBlob.digest; `digests` (only when built from scratch) holds the digest
    after every prefix, to find an earlier version to store a delta on.
    """

    elements: list[tuple[str, bytes]]
    digests: list[bytes] = field(default_factory=list)
    digest: str | None = None

    @classmethod
    def build(cls, serde: SerializerProtocol, value: list[Any]) -> ListValue:
        elements = [serde.dumps_typed(item) for item in value]
        digests = [_DIGEST_SEED]
        for element in elements:
            digests.append(chain_digest(digests[-1], element))
        return cls(elements=elements, digests=digests, digest=digests[-1].hex())

    def size(self) -> int:
        return sum(len(data) + len(type_) for type_, data in self.elements)


@dataclass
class Recent:
    """The last list value this saver wrote or read for a channel: the live items next
    to their serialized form, so a put that appends to them serializes only what is new."""

    version: str
    items: list[Any]
    elements: list[tuple[str, bytes]]
    digest: bytes


def chain_digest(previous: bytes, element: tuple[str, bytes]) -> bytes:
    return hashlib.sha256(previous + frame([element])).digest()


def frame(elements: Sequence[tuple[str, bytes]]) -> bytes:
    parts = []
    for type_, data in elements:
        type_bytes = type_.encode()
        parts.append(_ELEMENT_HEADER.pack(len(type_bytes), len(data)))
        parts.append(type_bytes)
        parts.append(data)
    return b"".join(parts)


def unframe(blob: bytes) -> list[tuple[str, bytes]]:
    elements = []
    offset = 0
    view = memoryview(blob)
    while offset < len(view):
        type_len, data_len = _ELEMENT_HEADER.unpack_from(view, offset)
        offset += _ELEMENT_HEADER.size
        type_ = bytes(view[offset : offset + type_len]).decode()
        offset += type_len
        elements.append((type_, bytes(view[offset : offset + data_len])))
        offset += data_len
    return elements
