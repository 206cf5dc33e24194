"""The key-value view py-evm executes against: pending writes over a durable base.

py-evm persists trie nodes and code as it executes. Writing them straight to disk
would leave orphaned or half-written state if the process died mid-block, so every
write lands in an in-memory overlay; the store commits the overlay together with
the block in one transaction, or the overlay is dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from eth.db.backends.base import BaseDB


class KeyValueReader(Protocol):
    def get(self, key: bytes) -> bytes | None: ...


class OverlayDB(BaseDB):
    """Reads fall through to ``base``; writes and deletes stay in ``changes``."""

    def __init__(self, base: KeyValueReader) -> None:
        self._base = base
        self.changes: dict[bytes, bytes | None] = {}

    def __getitem__(self, key: bytes) -> bytes:
        if key in self.changes:
            value = self.changes[key]
            if value is None:
                raise KeyError(key)
            return value
        value = self._base.get(key)
        if value is None:
            raise KeyError(key)
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.changes[key] = bytes(value)

    def __delitem__(self, key: bytes) -> None:
        if key not in self:
            raise KeyError(key)
        self.changes[key] = None

    def _exists(self, key: bytes) -> bool:
        if key in self.changes:
            return self.changes[key] is not None
        return self._base.get(key) is not None

    def __iter__(self) -> Iterator[bytes]:
        raise NotImplementedError("OverlayDB cannot be iterated")

    def __len__(self) -> int:
        raise NotImplementedError("OverlayDB has no length")


class MemoryKV:
    """A dict-backed KeyValueReader for tests, genesis building and benchmarks."""

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}

    def get(self, key: bytes) -> bytes | None:
        return self.data.get(key)

    def apply(self, changes: dict[bytes, bytes | None]) -> None:
        for key, value in changes.items():
            if value is None:
                self.data.pop(key, None)
            else:
                self.data[key] = value
