"""Plain, frozen views of chain data that cross package boundaries.

py-evm objects stay inside ``chain.execution``; storage, the RPC layer and tests
see only these dataclasses. Hashes and addresses are raw ``bytes`` (32 and 20 bytes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Address = bytes
Hash32 = bytes

# A block selector after tag resolution: a number, or "pending" (head + pool).
BlockSelector = int | Literal["pending"]


@dataclass(frozen=True)
class LogView:
    address: Address
    topics: tuple[Hash32, ...]
    data: bytes
    block_number: int
    block_hash: Hash32
    transaction_hash: Hash32
    transaction_index: int
    log_index: int  # position within the block
    removed: bool = False


@dataclass(frozen=True)
class AccessListEntry:
    address: Address
    storage_keys: tuple[Hash32, ...]


@dataclass(frozen=True)
class TransactionView:
    hash: Hash32
    type: int  # 0 legacy, 1 EIP-2930, 2 EIP-1559
    nonce: int
    sender: Address
    to: Address | None
    value: int
    gas: int
    data: bytes
    v: int  # legacy: v as signed (27/28 or EIP-155); typed: y-parity 0/1
    r: int
    s: int
    chain_id: int | None
    gas_price: int | None  # legacy and EIP-2930; for EIP-1559 the effective price once mined
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    access_list: tuple[AccessListEntry, ...] = ()
    block_hash: Hash32 | None = None
    block_number: int | None = None
    transaction_index: int | None = None


@dataclass(frozen=True)
class ReceiptView:
    transaction_hash: Hash32
    transaction_index: int
    block_hash: Hash32
    block_number: int
    sender: Address
    to: Address | None
    contract_address: Address | None
    cumulative_gas_used: int
    gas_used: int
    effective_gas_price: int
    status: int  # 1 success, 0 failure
    logs: tuple[LogView, ...]
    logs_bloom: bytes  # 256 bytes
    type: int


@dataclass(frozen=True)
class BlockView:
    number: int
    hash: Hash32
    parent_hash: Hash32
    nonce: bytes  # 8 bytes
    sha3_uncles: Hash32
    logs_bloom: bytes  # 256 bytes
    transactions_root: Hash32
    state_root: Hash32
    receipts_root: Hash32
    miner: Address
    difficulty: int
    extra_data: bytes
    size: int
    gas_limit: int
    gas_used: int
    timestamp: int
    mix_hash: Hash32
    base_fee_per_gas: int
    withdrawals_root: Hash32
    blob_gas_used: int
    excess_blob_gas: int
    parent_beacon_block_root: Hash32
    transactions: tuple[TransactionView, ...] = field(default=())


@dataclass(frozen=True)
class CallRequest:
    """The parameters of eth_call / eth_estimateGas, already decoded."""

    sender: Address | None = None
    to: Address | None = None
    gas: int | None = None
    gas_price: int | None = None
    max_fee_per_gas: int | None = None
    max_priority_fee_per_gas: int | None = None
    value: int = 0
    data: bytes = b""


@dataclass(frozen=True)
class LogFilter:
    """eth_getLogs criteria with block numbers resolved.

    ``topics[i]`` is None (any), or a tuple of alternatives for position i.
    ``block_hash`` set means exactly that block (from/to are ignored).
    """

    from_block: int
    to_block: int
    addresses: tuple[Address, ...] = ()
    topics: tuple[tuple[Hash32, ...] | None, ...] = ()
    block_hash: Hash32 | None = None


@dataclass(frozen=True)
class FeeHistory:
    oldest_block: int
    base_fee_per_gas: tuple[int, ...]  # len = block_count + 1
    gas_used_ratio: tuple[float, ...]
    reward: tuple[tuple[int, ...], ...] | None


@dataclass(frozen=True)
class SyncStatus:
    starting_block: int
    current_block: int
    highest_block: int
