"""Node reads that depend on chain history: BLOCKHASH, logs, pool nonces."""

from __future__ import annotations

from pathlib import Path

from chain.devnet import address_of, dev_private_key
from chain.types import CallRequest
from tests.chain.helpers import ADMIN, open_chain, seal, transfer


def _grow(chain, node, blocks: int) -> None:
    for _ in range(blocks):
        built = chain.build_block([], coinbase=address_of(dev_private_key("validator:0")),
                                  timestamp=chain.head.timestamp + 10, round_number=0)
        chain.commit(seal(built), built.outcome)


def _blockhash_code(number: int) -> bytes:
    # init code: BLOCKHASH(number) -> memory[0:32] -> return
    return bytes([0x61, number >> 8, number & 0xFF, 0x40, 0x60, 0x00, 0x52, 0x60, 0x20, 0x60, 0x00, 0xF3])


def test_blockhash_sees_the_stored_qbft_hashes(tmp_path: Path) -> None:
    chain, node = open_chain(tmp_path)
    _grow(chain, node, 5)
    for number in (0, 1, 4):
        output = node.call(CallRequest(data=_blockhash_code(number)), chain.head_number)
        assert output == chain.store.canonical_hash(number)
    # BLOCKHASH of the current block and of the future is zero.
    assert node.call(CallRequest(data=_blockhash_code(5)), 5) == b"\x00" * 32


def test_pending_nonce_counts_pooled_transactions(tmp_path: Path) -> None:
    chain, node = open_chain(tmp_path)
    address = ADMIN.address
    for nonce in range(3):
        node.send_raw_transaction(transfer(ADMIN.private_key, nonce, chain.chain_id))
    assert node.get_nonce(address, 0) == 0
    assert node.get_nonce(address, "pending") == 3
    pending = node.get_transaction(node.pool.transactions()[0].hash)
    assert pending is not None and pending.block_hash is None


def test_pool_restored_from_disk_after_reopen(tmp_path: Path) -> None:
    chain, node = open_chain(tmp_path)
    hashes = [node.send_raw_transaction(transfer(ADMIN.private_key, n, chain.chain_id)) for n in range(2)]
    chain.store.close()
    _, again = open_chain(tmp_path)
    assert sorted(tx.hash for tx in again.pool.transactions()) == sorted(hashes)


def test_minimum_gas_price_from_genesis_is_enforced_at_admission(tmp_path: Path) -> None:
    import pytest

    from chain.errors import TransactionRejected

    chain, node = open_chain(tmp_path, min_gas_price=10**9)
    assert node.gas_price() == 10**9
    with pytest.raises(TransactionRejected) as cheap:
        node.send_raw_transaction(transfer(ADMIN.private_key, 0, chain.chain_id, gas_price=10**9 - 1))
    assert cheap.value.reason == "fee_too_low"
    node.send_raw_transaction(transfer(ADMIN.private_key, 0, chain.chain_id, gas_price=10**9))
    assert len(node.pool) == 1
