"""The LMDB store: one atomic transaction per block, indexes, durable pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from chain.errors import StorageCorrupted
from chain.storage.lmdb_store import BlockRecord, LmdbStore, StoredLog, StoredReceipt

ADDRESS = b"\x0a" * 20
TOPIC = b"\x0b" * 32


def _record(number: int, *, logs: int = 1, state: dict | None = None) -> BlockRecord:
    receipt = StoredReceipt(
        status=1, cumulative_gas_used=21_000, gas_used=21_000, effective_gas_price=0,
        contract_address=None, sender=b"\x01" * 20, to=b"\x02" * 20, type=2,
        logs=tuple(StoredLog(ADDRESS, (TOPIC, number.to_bytes(32, "big")), b"data") for _ in range(logs)),
    )
    tx_hash = number.to_bytes(32, "big")
    return BlockRecord(
        number=number, hash=b"\xbb" * 31 + bytes([number]), header_rlp=b"header-%d" % number,
        transactions=(b"raw-%d" % number,), transaction_hashes=(tx_hash,), receipts=(receipt,),
        state_changes=state if state is not None else {b"node-%d" % number: b"value"},
    )


def test_blocks_commit_in_order_and_read_back(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    store.commit_block(_record(0, logs=0), genesis=True)
    for number in (1, 2, 3):
        store.commit_block(_record(number))
    assert store.head() == (3, _record(3).hash)
    assert store.genesis_hash() == _record(0).hash
    assert store.canonical_hash(2) == _record(2).hash
    assert store.transactions(_record(2).hash) == [b"raw-2"]
    assert store.receipts(_record(2).hash) == list(_record(2).receipts)
    assert store.transaction_location((2).to_bytes(32, "big")) == (2, 0)
    assert store.state_get(b"node-2") == b"value"
    assert list(store.blocks_with(b"a", ADDRESS, 0, 10)) == [1, 2, 3]
    assert list(store.blocks_with(b"a", ADDRESS, 2, 2)) == [2]
    assert list(store.blocks_with(b"t", (3).to_bytes(32, "big"), 0, 10)) == [3]
    assert list(store.blocks_with(b"a", b"\x0c" * 20, 0, 10)) == []


def test_a_refused_commit_writes_nothing(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    store.commit_block(_record(0, logs=0), genesis=True)
    gap = _record(2, state={b"orphan": b"x"})
    with pytest.raises(StorageCorrupted, match="head expects 1"):
        store.commit_block(gap)
    assert store.head() == (0, _record(0).hash)
    assert store.state_get(b"orphan") is None
    assert store.header_rlp(gap.hash) is None
    assert store.transaction_location((2).to_bytes(32, "big")) is None


def test_state_deletions_apply_with_the_block(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    store.commit_block(_record(0, logs=0, state={b"k": b"v"}), genesis=True)
    store.commit_block(_record(1, state={b"k": None, b"j": b"w"}))
    assert store.state_get(b"k") is None and store.state_get(b"j") == b"w"


def test_pool_transactions_survive_reopening_and_leave_when_mined(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    store.commit_block(_record(0, logs=0), genesis=True)
    store.put_pool_transaction((1).to_bytes(32, "big"), b"raw-1")
    store.put_pool_transaction(b"\x07" * 32, b"raw-x")
    store.close()
    again = LmdbStore(tmp_path)
    assert sorted(again.pool_transactions()) == [b"raw-1", b"raw-x"]
    again.commit_block(_record(1))  # mines tx 1
    assert again.pool_transactions() == [b"raw-x"]
    again.delete_pool_transactions([b"\x07" * 32])
    assert again.pool_transactions() == []


def test_missing_bodies_are_reported_as_corruption(tmp_path: Path) -> None:
    store = LmdbStore(tmp_path)
    with pytest.raises(StorageCorrupted, match="missing"):
        store.transactions(b"\x00" * 32)
    with pytest.raises(StorageCorrupted, match="missing"):
        store.receipts(b"\x00" * 32)
