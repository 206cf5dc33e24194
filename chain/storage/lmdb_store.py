"""The node's durable store: LMDB, one write transaction per finalized block.

A block's header, transactions, receipts, transaction index, log index, state
trie nodes and the new head pointer are written in ONE LMDB transaction, fsynced
on commit. After ``kill -9`` the store holds exactly the blocks whose commit
returned: never half a block, never a head without its state.

Layout (LMDB named databases):
  headers    block hash -> header RLP (final, with seals)
  bodies     block hash -> RLP list of raw transactions
  receipts   block hash -> RLP list of stored receipts
  canonical  number (8 bytes BE) -> block hash
  txindex    tx hash -> number (8 bytes) ++ index (4 bytes)
  logindex   b"a" ++ address ++ number  |  b"t" ++ topic ++ number  -> b""
  state      trie node / code hash -> bytes (py-evm's key space)
  pool       tx hash -> raw transaction (accepted, not yet in a block)
  meta       b"head" -> number ++ hash; b"genesis" -> hash
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lmdb
import rlp

from chain.errors import StorageCorrupted

_DBS = (b"headers", b"bodies", b"receipts", b"canonical", b"txindex", b"logindex", b"state", b"pool", b"meta")


def _num(n: int) -> bytes:
    return n.to_bytes(8, "big")


@dataclass(frozen=True)
class StoredLog:
    address: bytes
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class StoredReceipt:
    status: int
    cumulative_gas_used: int
    gas_used: int
    effective_gas_price: int
    contract_address: bytes | None
    sender: bytes
    to: bytes | None
    type: int
    logs: tuple[StoredLog, ...]

    def encode(self) -> list[object]:
        return [
            self.status,
            self.cumulative_gas_used,
            self.gas_used,
            self.effective_gas_price,
            self.contract_address or b"",
            self.sender,
            self.to or b"",
            self.type,
            [[log.address, list(log.topics), log.data] for log in self.logs],
        ]

    @classmethod
    def decode(cls, item: Any) -> StoredReceipt:
        status, cumulative, used, price, created, sender, to, tx_type, logs = item
        return cls(
            status=rlp.sedes.big_endian_int.deserialize(status),
            cumulative_gas_used=rlp.sedes.big_endian_int.deserialize(cumulative),
            gas_used=rlp.sedes.big_endian_int.deserialize(used),
            effective_gas_price=rlp.sedes.big_endian_int.deserialize(price),
            contract_address=bytes(created) or None,
            sender=bytes(sender),
            to=bytes(to) or None,
            type=rlp.sedes.big_endian_int.deserialize(tx_type),
            logs=tuple(
                StoredLog(address=bytes(a), topics=tuple(bytes(t) for t in topics), data=bytes(d))
                for a, topics, d in logs
            ),
        )


@dataclass(frozen=True)
class BlockRecord:
    number: int
    hash: bytes
    header_rlp: bytes
    transactions: tuple[bytes, ...]  # raw signed transactions
    transaction_hashes: tuple[bytes, ...]
    receipts: tuple[StoredReceipt, ...]
    state_changes: dict[bytes, bytes | None]


class LmdbStore:
    def __init__(self, path: Path, map_size: int = 64 << 30) -> None:
        path = Path(path)
        path.mkdir(parents=True, exist_ok=True)
        self._env = lmdb.open(
            str(path),
            map_size=map_size,
            max_dbs=len(_DBS) + 2,
            sync=True,
            metasync=True,
            lock=True,
        )
        self._db = {name: self._env.open_db(name) for name in _DBS}
        self._write_lock = threading.Lock()

    def close(self) -> None:
        self._env.close()

    # --- reads ----------------------------------------------------------------

    def _get(self, db: bytes, key: bytes) -> bytes | None:
        with self._env.begin(db=self._db[db], buffers=False) as txn:
            value = txn.get(key)
        return None if value is None else bytes(value)

    def state_get(self, key: bytes) -> bytes | None:
        return self._get(b"state", key)

    def get(self, key: bytes) -> bytes | None:  # KeyValueReader for py-evm's state
        return self._get(b"state", key)

    def head(self) -> tuple[int, bytes] | None:
        value = self._get(b"meta", b"head")
        if value is None:
            return None
        return int.from_bytes(value[:8], "big"), value[8:]

    def genesis_hash(self) -> bytes | None:
        return self._get(b"meta", b"genesis")

    def canonical_hash(self, number: int) -> bytes | None:
        return self._get(b"canonical", _num(number))

    def header_rlp(self, block_hash: bytes) -> bytes | None:
        return self._get(b"headers", block_hash)

    def transactions(self, block_hash: bytes) -> list[bytes]:
        value = self._get(b"bodies", block_hash)
        if value is None:
            raise StorageCorrupted(f"block body {block_hash.hex()} is missing")
        return [bytes(item) for item in rlp.decode(value)]

    def receipts(self, block_hash: bytes) -> list[StoredReceipt]:
        value = self._get(b"receipts", block_hash)
        if value is None:
            raise StorageCorrupted(f"receipts of block {block_hash.hex()} are missing")
        return [StoredReceipt.decode(item) for item in rlp.decode(value)]

    def transaction_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        value = self._get(b"txindex", tx_hash)
        if value is None:
            return None
        return int.from_bytes(value[:8], "big"), int.from_bytes(value[8:12], "big")

    def blocks_with(self, kind: bytes, key: bytes, first: int, last: int) -> Iterator[int]:
        """Block numbers in [first, last] with a log from address (kind b"a") or topic (b"t")."""
        prefix = kind + key
        start = prefix + _num(first)
        with self._env.begin(db=self._db[b"logindex"], buffers=False) as txn:
            cursor = txn.cursor()
            if not cursor.set_range(start):
                return
            for k in cursor.iternext(values=False):
                if not k.startswith(prefix):
                    return
                number = int.from_bytes(k[len(prefix) :], "big")
                if number > last:
                    return
                yield number

    def pool_transactions(self) -> list[bytes]:
        with self._env.begin(db=self._db[b"pool"], buffers=False) as txn:
            return [bytes(v) for _, v in txn.cursor()]

    # --- writes ---------------------------------------------------------------

    def commit_block(self, record: BlockRecord, *, genesis: bool = False) -> None:
        """Write the block and make it the head, atomically and durably."""
        with self._write_lock, self._env.begin(write=True) as txn:
            if not genesis:
                head = txn.get(b"head", db=self._db[b"meta"])
                expected = 0 if head is None else int.from_bytes(head[:8], "big") + 1
                if record.number != expected:
                    raise StorageCorrupted(
                        f"block {record.number} committed while the head expects {expected}"
                    )
            state_db = self._db[b"state"]
            for key, value in record.state_changes.items():
                if value is None:
                    txn.delete(key, db=state_db)
                else:
                    txn.put(key, value, db=state_db)
            txn.put(record.hash, record.header_rlp, db=self._db[b"headers"])
            txn.put(record.hash, rlp.encode(list(record.transactions)), db=self._db[b"bodies"])
            txn.put(
                record.hash,
                rlp.encode([r.encode() for r in record.receipts]),
                db=self._db[b"receipts"],
            )
            txn.put(_num(record.number), record.hash, db=self._db[b"canonical"])
            txindex, pool, logindex = self._db[b"txindex"], self._db[b"pool"], self._db[b"logindex"]
            for index, tx_hash in enumerate(record.transaction_hashes):
                txn.put(tx_hash, _num(record.number) + index.to_bytes(4, "big"), db=txindex)
                txn.delete(tx_hash, db=pool)
            suffix = _num(record.number)
            for receipt in record.receipts:
                for log in receipt.logs:
                    txn.put(b"a" + log.address + suffix, b"", db=logindex)
                    for topic in log.topics:
                        txn.put(b"t" + topic + suffix, b"", db=logindex)
            txn.put(b"head", _num(record.number) + record.hash, db=self._db[b"meta"])
            if genesis:
                txn.put(b"genesis", record.hash, db=self._db[b"meta"])

    def put_pool_transaction(self, tx_hash: bytes, raw: bytes) -> None:
        """Durable before the RPC acknowledges the transaction."""
        with self._write_lock, self._env.begin(write=True, db=self._db[b"pool"]) as txn:
            txn.put(tx_hash, raw)

    def delete_pool_transactions(self, hashes: Iterable[bytes]) -> None:
        with self._write_lock, self._env.begin(write=True, db=self._db[b"pool"]) as txn:
            for tx_hash in hashes:
                txn.delete(tx_hash)
