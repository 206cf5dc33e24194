"""Importing blocks built elsewhere: every header, permission and execution rule."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector

from chain.consensus import block_encoding as qbft
from chain.devnet import PERMISSIONING_ADDRESS, dev_private_key
from chain.errors import InvalidBlock
from chain.execution import blocks
from tests.chain.helpers import (
    ADMIN,
    DEPARTMENT,
    OUTSIDER,
    RECIPIENT,
    open_chain,
    seal,
    transfer,
)


@pytest.fixture
def pair(tmp_path: Path):
    builder, builder_node = open_chain(tmp_path / "a")
    importer, importer_node = open_chain(tmp_path / "b")
    return builder, builder_node, importer, importer_node


def _decoded(node, raws):
    return [node.admit(raw) for raw in raws]


def test_valid_block_imports_to_the_same_head_and_state(pair) -> None:
    builder, node, importer, _ = pair
    raws = [transfer(ADMIN.private_key, n, builder.chain_id) for n in range(3)]
    built = builder.build_block(_decoded(node, raws), coinbase=_validator(), timestamp=_ts(builder), round_number=0)
    final = seal(built)
    builder.commit(final, built.outcome)
    record = importer.import_block(final, raws, now=time.time())
    assert record.hash == builder.head_hash == importer.head_hash
    assert importer.head.state_root == builder.head.state_root
    assert len(importer.store.receipts(record.hash)) == 3


def test_block_with_unpermitted_sender_is_refused_on_import(pair) -> None:
    builder, node, importer, _ = pair
    raw = transfer(OUTSIDER.private_key, 0, builder.chain_id)
    builder.permissioning = None  # a rogue builder that ignores the allowlist
    from chain.execution.transactions import decode_transaction

    built = builder.build_block([decode_transaction(raw, builder.chain_id)], coinbase=_validator(),
                                timestamp=_ts(builder), round_number=0)
    assert len(built.outcome.executed) == 1
    head_before = importer.head_hash
    with pytest.raises(InvalidBlock, match="not permitted"):
        importer.import_block(seal(built), [raw], now=time.time())
    assert importer.head_hash == head_before
    assert importer.store.transaction_location(built.outcome.executed[0].transaction.hash) is None


def test_permission_is_evaluated_at_the_blocks_height(pair) -> None:
    builder, node, importer, importer_node = pair
    revoke = _call_permissioning(ADMIN.private_key, 0, builder.chain_id, DEPARTMENT.address, 0)
    built = builder.build_block(_decoded(node, [revoke]), coinbase=_validator(), timestamp=_ts(builder), round_number=0)
    assert built.outcome.executed[0].receipt.state_root == b"\x01"
    final = seal(built)
    builder.commit(final, built.outcome)
    importer.import_block(final, [revoke], now=time.time())
    # At the next height the department is no longer permitted: refused on admission...
    late = transfer(DEPARTMENT.private_key, 0, builder.chain_id)
    from chain.errors import TransactionRejected

    with pytest.raises(TransactionRejected) as refused:
        importer_node.admit(late)
    assert refused.value.reason == "not_permitted"
    # ...and a block that carries it anyway is refused on import.
    builder.permissioning = None
    from chain.execution.transactions import decode_transaction

    rogue = builder.build_block([decode_transaction(late, builder.chain_id)], coinbase=_validator(),
                                timestamp=_ts(builder), round_number=0)
    with pytest.raises(InvalidBlock, match="not permitted"):
        importer.import_block(seal(rogue), [late], now=time.time())


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("state_root", b"\x01" * 32, "state_root"),
        ("receipt_root", b"\x02" * 32, "receipt_root"),
        ("gas_used", 1, "gas_used"),
        ("difficulty", 2, "difficulty"),
        ("base_fee_per_gas", 7, "base fee"),
        ("gas_limit", 29_000_000, "gas limit"),
        ("mix_hash", b"\x00" * 32, "mixHash"),
        ("nonce", b"\x00" * 7 + b"\x01", "nonce"),
        ("block_number", 5, "block number"),
        ("parent_hash", b"\x09" * 32, "parent hash"),
    ],
)
def test_tampered_header_fields_are_refused(pair, field, value, message) -> None:
    builder, node, importer, _ = pair
    raws = [transfer(ADMIN.private_key, 0, builder.chain_id)]
    built = builder.build_block(_decoded(node, raws), coinbase=_validator(), timestamp=_ts(builder), round_number=0)
    header = blocks.decode_header(built.header_rlp).copy(**{field: value})
    tampered = built.__class__(blocks.encode_header(header), built.block_hash, built.outcome, ())
    with pytest.raises(InvalidBlock, match=message):
        importer.import_block(seal(tampered), raws, now=time.time())
    assert importer.head_number == 0


def test_tampered_transaction_list_is_refused(pair) -> None:
    builder, node, importer, _ = pair
    raws = [transfer(ADMIN.private_key, n, builder.chain_id) for n in range(2)]
    built = builder.build_block(_decoded(node, raws), coinbase=_validator(), timestamp=_ts(builder), round_number=0)
    with pytest.raises(InvalidBlock, match="transaction_root"):
        importer.import_block(seal(built), raws[:1], now=time.time())


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        ([], "seal"),
        ([dev_private_key("not-a-validator")], "seal"),
    ],
)
def test_blocks_without_a_quorum_of_validator_seals_are_refused(pair, keys, message) -> None:
    builder, node, importer, _ = pair
    raws = [transfer(ADMIN.private_key, 0, builder.chain_id)]
    built = builder.build_block(_decoded(node, raws), coinbase=_validator(), timestamp=_ts(builder), round_number=0)
    with pytest.raises(InvalidBlock, match=message):
        importer.import_block(seal(built, keys), raws, now=time.time())


def test_block_and_empty_block_periods_are_consensus_rules(pair) -> None:
    builder, node, importer, _ = pair
    parent_ts = builder.head.timestamp
    empty = builder.build_block([], coinbase=_validator(), timestamp=parent_ts + 1, round_number=0)
    with pytest.raises(InvalidBlock, match="too early for an empty block"):
        importer.import_block(seal(empty), [], now=time.time() + 1e9)
    raws = [transfer(ADMIN.private_key, 0, builder.chain_id)]
    early = builder.build_block(_decoded(node, raws), coinbase=_validator(), timestamp=parent_ts, round_number=0)
    with pytest.raises(InvalidBlock, match="too early for a block"):
        importer.import_block(seal(early), raws, now=time.time() + 1e9)
    on_time = builder.build_block([], coinbase=_validator(), timestamp=parent_ts + 10, round_number=0)
    importer.import_block(seal(on_time), [], now=time.time() + 1e9)
    assert importer.head_number == 1


def test_block_from_the_future_is_refused(pair) -> None:
    builder, node, importer, _ = pair
    now = time.time()
    built = builder.build_block([], coinbase=_validator(), timestamp=int(now) + 3600, round_number=0)
    with pytest.raises(InvalidBlock, match="future"):
        importer.import_block(seal(built), [], now=now)


def test_builder_leaves_out_a_transaction_that_cannot_apply(pair) -> None:
    builder, node, _, _ = pair
    from chain.execution.transactions import decode_transaction

    good = decode_transaction(transfer(ADMIN.private_key, 0, builder.chain_id), builder.chain_id)
    # Nonce 5 while the account is at 0: py-evm refuses it inside the batch.
    bad = decode_transaction(transfer(DEPARTMENT.private_key, 5, builder.chain_id), builder.chain_id)
    after = decode_transaction(transfer(ADMIN.private_key, 1, builder.chain_id), builder.chain_id)
    built = builder.build_block([good, bad, after], coinbase=_validator(), timestamp=_ts(builder), round_number=0)
    assert [t.transaction.hash for t in built.outcome.executed] == [good.hash, after.hash]
    assert [h for h, _ in built.excluded] == [bad.hash]


def test_block_hash_ignores_round_and_seals(pair) -> None:
    builder, node, _, _ = pair
    built = builder.build_block([], coinbase=_validator(), timestamp=_ts(builder) + 10, round_number=0)
    sealed_round_3 = seal(built, round_number=3)
    assert qbft.block_hash(sealed_round_3) == built.block_hash


def test_reopening_the_store_resumes_the_same_head(tmp_path: Path) -> None:
    chain, node = open_chain(tmp_path)
    raws = [transfer(ADMIN.private_key, 0, chain.chain_id, to=RECIPIENT, value=7)]
    built = chain.build_block(_decoded(node, raws), coinbase=_validator(), timestamp=_ts(chain), round_number=0)
    chain.commit(seal(built), built.outcome)
    head, root = chain.head_hash, chain.head.state_root
    chain.store.close()
    again, again_node = open_chain(tmp_path)
    assert (again.head_hash, again.head.state_root) == (head, root)
    assert again_node.get_balance(RECIPIENT, "pending") == 7


def test_a_data_dir_of_another_genesis_is_refused(tmp_path: Path) -> None:
    chain, _ = open_chain(tmp_path)
    chain.store.close()
    from chain.errors import StorageCorrupted

    with pytest.raises(StorageCorrupted, match="genesis"):
        open_chain(tmp_path, min_gas_price=5)


def _validator() -> bytes:
    from chain.devnet import address_of

    return address_of(dev_private_key("validator:0"))


def _ts(chain) -> int:
    return chain.head.timestamp + chain.genesis.qbft.block_period


def _call_permissioning(key: bytes, nonce: int, chain_id: int, account: bytes, role: int) -> bytes:
    from eth_account import Account

    data = function_signature_to_4byte_selector("setAccountRole(address,uint8)") + abi_encode(
        ["address", "uint8"], [account, role]
    )
    tx = {"to": "0x" + PERMISSIONING_ADDRESS.hex(), "value": 0, "gas": 200_000, "gasPrice": 0,
          "nonce": nonce, "chainId": chain_id, "data": data}
    return bytes(Account.sign_transaction(tx, key).raw_transaction)
