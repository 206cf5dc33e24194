"""Headers as py-evm objects: building a child header, decoding, and plain views."""

from __future__ import annotations

from collections.abc import Sequence

import rlp
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH
from eth.vm.forks.cancun.blocks import CancunBlockHeader

from chain.consensus.block_encoding import MIX_HASH
from chain.types import BlockView, TransactionView

ZERO_HASH = b"\x00" * 32
Header = CancunBlockHeader


def decode_header(header_rlp: bytes) -> Header:
    return rlp.decode(header_rlp, sedes=CancunBlockHeader)


def encode_header(header: Header) -> bytes:
    return rlp.encode(header)


def qbft_header(
    *,
    number: int,
    parent_hash: bytes,
    coinbase: bytes,
    timestamp: int,
    gas_limit: int,
    extra_data: bytes,
    state_root: bytes,
) -> Header:
    """A header with every field QBFT fixes (difficulty 1, mixHash, zero nonce and base fee,
    no uncles, withdrawals or blobs) set; roots other than state are filled by execution."""
    return CancunBlockHeader(
        difficulty=1,
        block_number=number,
        gas_limit=gas_limit,
        timestamp=timestamp,
        coinbase=coinbase,
        parent_hash=parent_hash,
        uncles_hash=EMPTY_UNCLE_HASH,
        state_root=state_root,
        extra_data=extra_data,
        mix_hash=MIX_HASH,
        nonce=b"\x00" * 8,
        base_fee_per_gas=0,
        withdrawals_root=BLANK_ROOT_HASH,
        blob_gas_used=0,
        excess_blob_gas=0,
        parent_beacon_block_root=ZERO_HASH,
    )


def child_header(
    parent: Header,
    parent_hash: bytes,
    *,
    coinbase: bytes,
    timestamp: int,
    extra_data: bytes,
    gas_limit: int,
) -> Header:
    """The template of a QBFT child block: roots are the parent's until executed."""
    return qbft_header(
        number=parent.block_number + 1, parent_hash=parent_hash, coinbase=coinbase,
        timestamp=timestamp, gas_limit=gas_limit, extra_data=extra_data, state_root=parent.state_root,
    )


def block_size(header_rlp: bytes, raw_transactions: Sequence[bytes]) -> int:
    body = [rlp.decode(t) if t[0] >= 0xC0 else t for t in raw_transactions]
    return len(rlp.encode([rlp.decode(header_rlp), body, []]))


def block_view(
    header: Header,
    block_hash: bytes,
    size: int,
    transactions: tuple[TransactionView, ...],
) -> BlockView:
    return BlockView(
        number=header.block_number,
        hash=block_hash,
        parent_hash=bytes(header.parent_hash),
        nonce=bytes(header.nonce),
        sha3_uncles=bytes(header.uncles_hash),
        logs_bloom=int(header.bloom).to_bytes(256, "big"),
        transactions_root=bytes(header.transaction_root),
        state_root=bytes(header.state_root),
        receipts_root=bytes(header.receipt_root),
        miner=bytes(header.coinbase),
        difficulty=header.difficulty,
        extra_data=bytes(header.extra_data),
        size=size,
        gas_limit=header.gas_limit,
        gas_used=header.gas_used,
        timestamp=header.timestamp,
        mix_hash=bytes(header.mix_hash),
        base_fee_per_gas=header.base_fee_per_gas,
        withdrawals_root=bytes(header.withdrawals_root),
        blob_gas_used=header.blob_gas_used,
        excess_blob_gas=header.excess_blob_gas,
        parent_beacon_block_root=bytes(header.parent_beacon_block_root),
        transactions=transactions,
    )
