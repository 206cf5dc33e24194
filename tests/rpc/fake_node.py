"""An in-memory NodeAPI with a small fixed chain, for testing the RPC layer.

Block 0 is empty; block 1 holds a legacy (EIP-155) transfer; block 2 an EIP-1559
contract call that emits two logs and an EIP-2930 contract creation. ``commit_block``
appends blocks and calls the listeners as the real node does.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from chain.errors import ExecutionFailed, ExecutionReverted, LimitExceeded, TransactionRejected
from chain.rpc.ports import BlockListener
from chain.types import (
    AccessListEntry,
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

CHAIN_ID = 1337
ALICE = bytes.fromhex("a1" * 20)
BOB = bytes.fromhex("b0" * 20)
TOKEN = bytes.fromhex("70" * 20)
CREATED = bytes.fromhex("c1" * 20)
VALIDATORS = [bytes.fromhex(f"{i:02x}" * 20) for i in (0x11, 0x22, 0x33, 0x44)]
TRANSFER_TOPIC = bytes.fromhex("dd" * 32)
APPROVAL_TOPIC = bytes.fromhex("8c" * 32)
REVERT_DATA = bytes.fromhex(
    "08c379a0"
    "0000000000000000000000000000000000000000000000000000000000000020"
    "000000000000000000000000000000000000000000000000000000000000000d"
    "6e6f7420616c6c6f776564000000000000000000000000000000000000000000"
)
# QBFT extra data is longer than 32 bytes, hence web3's ExtraDataToPOAMiddleware.
EXTRA_DATA = bytes.fromhex("f8") + bytes(96)
# Raw transactions the fake rejects, by first byte.
RAW_NONCE_TOO_LOW = b"\x01\xaa"
RAW_BROKEN = b"\x02\xbb"


def _hash(tag: str, number: int) -> Hash32:
    return tag.encode().ljust(28, b"\0") + number.to_bytes(4, "big")


def topic_for(address: Address) -> Hash32:
    return bytes(12) + address


class FakeNode:
    def __init__(self, max_logs_block_range: int = 1000) -> None:
        self.blocks: list[BlockView] = []
        self.receipts: dict[Hash32, ReceiptView] = {}
        self.pending: dict[Hash32, TransactionView] = {}
        self.listeners: list[BlockListener] = []
        self.calls: list[tuple[str, object]] = []  # (method, block selector) as the RPC passed them
        self._max_logs_block_range = max_logs_block_range
        self.commit_block([])
        self.commit_block([self.legacy_transfer(nonce=0)])
        self.commit_block([self.token_transfer(nonce=1), self.contract_creation(nonce=2)])

    # --- building the chain ---------------------------------------------------

    @staticmethod
    def legacy_transfer(nonce: int) -> TransactionView:
        return TransactionView(
            hash=_hash("legacy", nonce), type=0, nonce=nonce, sender=ALICE, to=BOB, value=10**18,
            gas=21_000, data=b"", v=CHAIN_ID * 2 + 35, r=2**255 + 1, s=12345,
            chain_id=CHAIN_ID, gas_price=10**9,
        )

    @staticmethod
    def token_transfer(nonce: int) -> TransactionView:
        return TransactionView(
            hash=_hash("dynamic", nonce), type=2, nonce=nonce, sender=ALICE, to=TOKEN, value=0,
            gas=90_000, data=bytes.fromhex("a9059cbb") + bytes(64), v=1, r=7, s=8,
            chain_id=CHAIN_ID, gas_price=None, max_fee_per_gas=3 * 10**9,
            max_priority_fee_per_gas=10**9,
        )

    @staticmethod
    def contract_creation(nonce: int) -> TransactionView:
        return TransactionView(
            hash=_hash("create", nonce), type=1, nonce=nonce, sender=ALICE, to=None, value=0,
            gas=500_000, data=bytes.fromhex("6080604052"), v=0, r=9, s=10, chain_id=CHAIN_ID,
            gas_price=2 * 10**9,
            access_list=(AccessListEntry(TOKEN, (bytes(32), bytes(31) + b"\x01")),),
        )

    def _logs_for(self, tx: TransactionView, number: int, block_hash: Hash32, index: int,
                  first_log_index: int) -> tuple[LogView, ...]:
        if tx.to != TOKEN:
            return ()
        topics = [
            (TRANSFER_TOPIC, topic_for(tx.sender), topic_for(BOB)),
            (APPROVAL_TOPIC, topic_for(tx.sender)),
        ]
        return tuple(
            LogView(address=TOKEN, topics=t, data=(1000 + i).to_bytes(32, "big"),
                    block_number=number, block_hash=block_hash, transaction_hash=tx.hash,
                    transaction_index=index, log_index=first_log_index + i)
            for i, t in enumerate(topics)
        )

    def commit_block(self, transactions: Sequence[TransactionView]) -> BlockView:
        """Append a block holding transactions and notify listeners, as the node does."""
        number = len(self.blocks)
        block_hash = _hash("block", number)
        mined: list[TransactionView] = []
        all_logs: list[LogView] = []
        cumulative = 0
        for index, tx in enumerate(transactions):
            price = tx.gas_price if tx.gas_price is not None else 2 * 10**9
            tx = replace(tx, block_hash=block_hash, block_number=number, transaction_index=index,
                         gas_price=price)
            logs = self._logs_for(tx, number, block_hash, index, len(all_logs))
            all_logs.extend(logs)
            cumulative += 21_000
            self.receipts[tx.hash] = ReceiptView(
                transaction_hash=tx.hash, transaction_index=index, block_hash=block_hash,
                block_number=number, sender=tx.sender, to=tx.to,
                contract_address=CREATED if tx.to is None else None,
                cumulative_gas_used=cumulative, gas_used=21_000, effective_gas_price=price,
                status=1, logs=logs, logs_bloom=bytes(256), type=tx.type,
            )
            self.pending.pop(tx.hash, None)
            mined.append(tx)
        block = BlockView(
            number=number, hash=block_hash,
            parent_hash=self.blocks[-1].hash if self.blocks else bytes(32),
            nonce=bytes(8), sha3_uncles=bytes.fromhex("1d" * 32), logs_bloom=bytes(256),
            transactions_root=_hash("txroot", number), state_root=_hash("state", number),
            receipts_root=_hash("receipts", number), miner=VALIDATORS[number % 4], difficulty=1,
            extra_data=EXTRA_DATA, size=600 + 100 * len(mined), gas_limit=30_000_000,
            gas_used=cumulative, timestamp=1_700_000_000 + number, mix_hash=bytes(32),
            base_fee_per_gas=10**9, withdrawals_root=bytes(32), blob_gas_used=0,
            excess_blob_gas=0, parent_beacon_block_root=bytes(32), transactions=tuple(mined),
        )
        self.blocks.append(block)
        for listener in list(self.listeners):
            listener(block, all_logs)
        return block

    # --- NodeAPI --------------------------------------------------------------

    @property
    def client_version(self) -> str:
        return "citychain/v0.1.0-test/python3.11"

    @property
    def chain_id(self) -> int:
        return CHAIN_ID

    @property
    def peer_count(self) -> int:
        return 3

    @property
    def max_logs_block_range(self) -> int:
        return self._max_logs_block_range

    def head_number(self) -> int:
        return len(self.blocks) - 1

    def syncing(self) -> SyncStatus | None:
        return None

    def get_block_by_number(self, number: int, full_transactions: bool) -> BlockView | None:
        return self.blocks[number] if 0 <= number < len(self.blocks) else None

    def get_block_by_hash(self, block_hash: Hash32, full_transactions: bool) -> BlockView | None:
        return next((b for b in self.blocks if b.hash == block_hash), None)

    def get_transaction(self, tx_hash: Hash32) -> TransactionView | None:
        for block in self.blocks:
            for tx in block.transactions:
                if tx.hash == tx_hash:
                    return tx
        return self.pending.get(tx_hash)

    def get_receipt(self, tx_hash: Hash32) -> ReceiptView | None:
        return self.receipts.get(tx_hash)

    def get_balance(self, address: Address, block: BlockSelector) -> int:
        self.calls.append(("get_balance", block))
        return 5 * 10**18 if address == ALICE else 0

    def get_nonce(self, address: Address, block: BlockSelector) -> int:
        self.calls.append(("get_nonce", block))
        return 3 + (len(self.pending) if block == "pending" else 0)

    def get_code(self, address: Address, block: BlockSelector) -> bytes:
        return bytes.fromhex("6080") if address == TOKEN else b""

    def get_storage_at(self, address: Address, slot: int, block: BlockSelector) -> bytes:
        return slot.to_bytes(32, "big")

    def call(self, request: CallRequest, block: BlockSelector) -> bytes:
        self.calls.append(("call", block))
        if request.data.startswith(b"\xde\xad"):
            raise ExecutionReverted(REVERT_DATA, "not allowed")
        if request.data.startswith(b"\xfe"):
            raise ExecutionFailed("invalid opcode: INVALID")
        return bytes(31) + b"\x2a"

    def estimate_gas(self, request: CallRequest, block: BlockSelector) -> int:
        if request.data.startswith(b"\xde\xad"):
            raise ExecutionReverted(b"", None)
        return 21_000 + 16 * len(request.data)

    def gas_price(self) -> int:
        return 2 * 10**9

    def max_priority_fee(self) -> int:
        return 10**9

    def fee_history(
        self, block_count: int, newest_block: int, reward_percentiles: Sequence[float]
    ) -> FeeHistory:
        oldest = newest_block - block_count + 1
        return FeeHistory(
            oldest_block=oldest,
            base_fee_per_gas=(10**9,) * (block_count + 1),
            gas_used_ratio=(0.5,) * block_count,
            reward=tuple((10**9,) * len(reward_percentiles) for _ in range(block_count))
            if reward_percentiles else None,
        )

    def send_raw_transaction(self, raw: bytes) -> Hash32:
        if raw == RAW_NONCE_TOO_LOW:
            raise TransactionRejected("nonce_too_low", "nonce too low: next nonce 3, tx nonce 1")
        if raw == RAW_BROKEN:
            raise RuntimeError("bug in the pool")
        tx = replace(self.legacy_transfer(nonce=100 + len(self.pending)), hash=_hash("raw", len(raw)))
        self.pending[tx.hash] = tx
        return tx.hash

    def get_logs(self, log_filter: LogFilter) -> list[LogView]:
        if log_filter.to_block - log_filter.from_block + 1 > self._max_logs_block_range:
            raise LimitExceeded("block range too large")
        found = []
        for block in self.blocks[log_filter.from_block:log_filter.to_block + 1]:
            for tx in block.transactions:
                for log in self.receipts[tx.hash].logs:
                    if log_filter.addresses and log.address not in log_filter.addresses:
                        continue
                    if len(log_filter.topics) > len(log.topics):
                        continue
                    if all(want is None or have in want
                           for want, have in zip(log_filter.topics, log.topics, strict=False)):
                        found.append(log)
        return found

    def validators_at(self, number: int) -> list[Address]:
        return list(VALIDATORS)

    def add_block_listener(self, listener: BlockListener) -> None:
        self.listeners.append(listener)

    def remove_block_listener(self, listener: BlockListener) -> None:
        self.listeners.remove(listener)
