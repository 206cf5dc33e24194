"""What the JSON-RPC layer needs from a node: the only thing it imports from it."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

from chain.types import (
    Address,
    BlockSelector,
    BlockView,
    CallRequest,
    FeeHistory,
    Hash32,
    LogFilter,
    LogView,
    ReceiptView,
    SyncStatus,
    TransactionView,
)

# Called on the node's event loop after each new canonical block is committed,
# with the block (full transactions) and all of its logs in order.
BlockListener = Callable[[BlockView, Sequence[LogView]], None]


class NodeAPI(Protocol):
    @property
    def client_version(self) -> str: ...

    @property
    def chain_id(self) -> int: ...

    @property
    def peer_count(self) -> int: ...

    @property
    def max_logs_block_range(self) -> int: ...

    def head_number(self) -> int: ...

    def syncing(self) -> SyncStatus | None: ...

    def get_block_by_number(self, number: int, full_transactions: bool) -> BlockView | None: ...

    def get_block_by_hash(self, block_hash: Hash32, full_transactions: bool) -> BlockView | None: ...

    def get_transaction(self, tx_hash: Hash32) -> TransactionView | None:
        """Mined transactions, and pending ones from the pool (block fields None)."""
        ...

    def get_receipt(self, tx_hash: Hash32) -> ReceiptView | None: ...

    def get_balance(self, address: Address, block: BlockSelector) -> int: ...

    def get_nonce(self, address: Address, block: BlockSelector) -> int:
        """With "pending": the next nonce counting the sender's pooled transactions."""
        ...

    def get_code(self, address: Address, block: BlockSelector) -> bytes: ...

    def get_storage_at(self, address: Address, slot: int, block: BlockSelector) -> bytes:
        """32 bytes."""
        ...

    def call(self, request: CallRequest, block: BlockSelector) -> bytes:
        """Raises ExecutionReverted (with data and decoded reason) or ExecutionFailed."""
        ...

    def estimate_gas(self, request: CallRequest, block: BlockSelector) -> int: ...

    def gas_price(self) -> int: ...

    def max_priority_fee(self) -> int: ...

    def fee_history(
        self, block_count: int, newest_block: int, reward_percentiles: Sequence[float]
    ) -> FeeHistory: ...

    def send_raw_transaction(self, raw: bytes) -> Hash32:
        """Raises TransactionRejected with a reason code and a message."""
        ...

    def get_logs(self, log_filter: LogFilter) -> list[LogView]:
        """Raises LimitExceeded when the range exceeds max_logs_block_range."""
        ...

    def validators_at(self, number: int) -> list[Address]: ...

    def add_block_listener(self, listener: BlockListener) -> None: ...

    def remove_block_listener(self, listener: BlockListener) -> None: ...
