"""The node behind the JSON-RPC port: chain reads, transaction admission, logs.

Consensus drives block production through ``chain.node.driver``; this class
answers queries and keeps the transaction pool.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from chain.errors import (
    InvalidParams,
    LimitExceeded,
    NotFound,
    TransactionRejected,
)
from chain.execution import blocks, engine
from chain.execution.transactions import DecodedTransaction, decode_transaction, to_view
from chain.node.chain import ROLE_NONE, Chain
from chain.rpc.ports import BlockListener
from chain.storage.lmdb_store import BlockRecord
from chain.txpool.config import PoolConfig
from chain.txpool.pool import PoolTransaction, TransactionPool
from chain.types import (
    BlockSelector,
    BlockView,
    CallRequest,
    FeeHistory,
    LogFilter,
    LogView,
    ReceiptView,
    SyncStatus,
    TransactionView,
)

log = logging.getLogger("citychain.node")

CLIENT_VERSION = "citychain/v0.1.0/python"


class Node:
    def __init__(
        self,
        chain: Chain,
        pool_config: PoolConfig | None = None,
        *,
        max_logs_block_range: int = 10_000,
    ) -> None:
        self.chain = chain
        self.pool = TransactionPool(pool_config or PoolConfig(min_tip=chain.genesis.min_gas_price))
        self._decoded: dict[bytes, DecodedTransaction] = {}
        chain.known_transactions = self._decoded
        self._listeners: list[BlockListener] = []
        self._max_logs_block_range = max_logs_block_range
        self.peers = 0
        self.forward_transaction: Callable[[bytes], object] | None = None
        self.sync_status: Callable[[], tuple[int, int, int] | None] = lambda: None
        self._restore_pool()

    # --- NodeAPI properties -----------------------------------------------------

    @property
    def client_version(self) -> str:
        return CLIENT_VERSION

    @property
    def chain_id(self) -> int:
        return self.chain.chain_id

    @property
    def peer_count(self) -> int:
        return self.peers

    @property
    def max_logs_block_range(self) -> int:
        return self._max_logs_block_range

    def head_number(self) -> int:
        return self.chain.head_number

    def syncing(self) -> SyncStatus | None:
        status = self.sync_status()
        if status is None:
            return None
        return SyncStatus(starting_block=status[0], current_block=status[1], highest_block=status[2])

    # --- blocks and transactions -------------------------------------------------

    def _header_for(self, block: BlockSelector) -> blocks.Header:
        if block == "pending":
            return self.chain.head
        header = self.chain.header_by_number(block)
        if header is None:
            raise NotFound(f"block {block} does not exist; the head is {self.chain.head_number}")
        return header

    def _block_view(self, block_hash: bytes, full: bool) -> BlockView | None:
        header = self.chain.header_by_hash(block_hash)
        if header is None:
            return None
        if self.chain.store.canonical_hash(header.block_number) != block_hash:
            return None
        raws = self.chain.store.transactions(block_hash)
        views = tuple(self._mined_view(raw, header, block_hash, i) for i, raw in enumerate(raws))
        header_rlp = self.chain.store.header_rlp(block_hash) or b""
        return blocks.block_view(
            header, block_hash, blocks.block_size(header_rlp, raws),
            views if full else tuple(v for v in views),
        )

    def _mined_view(
        self, raw: bytes, header: blocks.Header, block_hash: bytes, index: int
    ) -> TransactionView:
        # Transactions that came through our pool are already decoded: no second recovery.
        known = self._decoded.get(_tx_hash(raw))
        decoded = known if known is not None and known.raw == raw else decode_transaction(raw, self.chain.chain_id)
        return to_view(
            decoded, block_hash=block_hash, block_number=header.block_number,
            transaction_index=index, base_fee=header.base_fee_per_gas or 0,
        )

    def get_block_by_number(self, number: int, full_transactions: bool) -> BlockView | None:
        block_hash = self.chain.store.canonical_hash(number)
        return None if block_hash is None else self._block_view(block_hash, full_transactions)

    def get_block_by_hash(self, block_hash: bytes, full_transactions: bool) -> BlockView | None:
        return self._block_view(block_hash, full_transactions)

    def get_transaction(self, tx_hash: bytes) -> TransactionView | None:
        location = self.chain.store.transaction_location(tx_hash)
        if location is not None:
            number, index = location
            block_hash = self.chain.store.canonical_hash(number)
            header = self.chain.header_by_number(number)
            if block_hash is None or header is None:
                return None
            raw = self.chain.store.transactions(block_hash)[index]
            return self._mined_view(raw, header, block_hash, index)
        pending = self._decoded.get(tx_hash)
        return None if pending is None else to_view(pending)

    def get_receipt(self, tx_hash: bytes) -> ReceiptView | None:
        location = self.chain.store.transaction_location(tx_hash)
        if location is None:
            return None
        number, index = location
        block_hash = self.chain.store.canonical_hash(number)
        if block_hash is None:
            return None
        receipts = self.chain.store.receipts(block_hash)
        first_log = sum(len(r.logs) for r in receipts[:index])
        stored = receipts[index]
        logs = tuple(
            LogView(
                address=log_.address, topics=log_.topics, data=log_.data, block_number=number,
                block_hash=block_hash, transaction_hash=tx_hash, transaction_index=index,
                log_index=first_log + i,
            )
            for i, log_ in enumerate(stored.logs)
        )
        return ReceiptView(
            transaction_hash=tx_hash, transaction_index=index, block_hash=block_hash,
            block_number=number, sender=stored.sender, to=stored.to,
            contract_address=stored.contract_address,
            cumulative_gas_used=stored.cumulative_gas_used, gas_used=stored.gas_used,
            effective_gas_price=stored.effective_gas_price, status=stored.status, logs=logs,
            logs_bloom=_bloom(logs), type=stored.type,
        )

    # --- state -------------------------------------------------------------------

    def get_balance(self, address: bytes, block: BlockSelector) -> int:
        return engine.get_balance(self._header_for(block), self.chain.store, address)

    def get_nonce(self, address: bytes, block: BlockSelector) -> int:
        nonce = engine.get_nonce(self._header_for(block), self.chain.store, address)
        if block == "pending":
            return self.pool.pending_nonce(address, nonce)
        return nonce

    def get_code(self, address: bytes, block: BlockSelector) -> bytes:
        return engine.get_code(self._header_for(block), self.chain.store, address)

    def get_storage_at(self, address: bytes, slot: int, block: BlockSelector) -> bytes:
        value = engine.get_storage(self._header_for(block), self.chain.store, address, slot)
        return value.to_bytes(32, "big")

    def call(self, request: CallRequest, block: BlockSelector) -> bytes:
        header = self._header_for(block)
        return engine.call(
            request, header, self.chain.store, self.chain.chain_id,
            self.chain.prev_hashes(header.block_number - 1),  # context of block N: BLOCKHASH(N-1) first
        )

    def estimate_gas(self, request: CallRequest, block: BlockSelector) -> int:
        header = self._header_for(block)
        return engine.estimate_gas(
            request, header, self.chain.store, self.chain.chain_id,
            self.chain.prev_hashes(header.block_number - 1),  # context of block N: BLOCKHASH(N-1) first
        )

    def gas_price(self) -> int:
        return self.chain.genesis.min_gas_price

    def max_priority_fee(self) -> int:
        return self.chain.genesis.min_gas_price

    def fee_history(
        self, block_count: int, newest_block: int, reward_percentiles: Sequence[float]
    ) -> FeeHistory:
        newest = min(newest_block, self.chain.head_number)
        count = max(0, min(block_count, newest + 1))
        oldest = newest - count + 1
        ratios = []
        rewards = []
        for number in range(oldest, newest + 1):
            header = self.chain.header_by_number(number)
            assert header is not None
            ratios.append(header.gas_used / header.gas_limit if header.gas_limit else 0.0)
            rewards.append(tuple(self.chain.genesis.min_gas_price for _ in reward_percentiles))
        return FeeHistory(
            oldest_block=oldest,
            base_fee_per_gas=tuple(0 for _ in range(count + 1)),
            gas_used_ratio=tuple(ratios),
            reward=tuple(rewards) if reward_percentiles else None,
        )

    # --- admission -----------------------------------------------------------------

    def send_raw_transaction(self, raw: bytes) -> bytes:
        """Accept a transaction from this node's RPC: durable before the answer, then gossiped."""
        decoded = self.admit(raw)
        self.chain.store.put_pool_transaction(decoded.hash, decoded.raw)
        if self.forward_transaction is not None:
            self.forward_transaction(decoded.raw)  # so any node's RPC accepts transactions
        return decoded.hash

    def accept_from_peer(self, raw: bytes) -> bytes:
        """A gossiped transaction: pooled, not written to disk (the node that acknowledged
        it to its client did that) and not re-forwarded (the p2p layer relays once)."""
        return self.admit(raw).hash

    def admit(self, raw: bytes, now: float | None = None) -> DecodedTransaction:
        """Check a transaction against the head state and the pool; add it or raise."""
        import time

        decoded = decode_transaction(raw, self.chain.chain_id)
        if decoded.hash in self.pool or self.chain.store.transaction_location(decoded.hash):
            raise TransactionRejected("already_known", f"transaction 0x{decoded.hash.hex()} is already known")
        head = self.chain.head
        if decoded.gas > head.gas_limit:
            raise TransactionRejected(
                "gas_limit_exceeded",
                f"gas {decoded.gas} exceeds the block gas limit {head.gas_limit}",
            )
        if decoded.gas < decoded.intrinsic_gas:
            raise TransactionRejected(
                "intrinsic_gas_too_low",
                f"gas {decoded.gas} is below the intrinsic gas {decoded.intrinsic_gas} of this transaction",
            )
        reader = self.chain.reader_at(head)
        if self.chain.permitted_role(reader, decoded.sender) == ROLE_NONE:
            raise TransactionRejected(
                "not_permitted",
                f"account 0x{decoded.sender.hex()} is not permitted to transact on this chain; "
                "a city admin must add it to the permissioning contract",
            )
        self.pool.add(
            _pool_tx(decoded, now if now is not None else time.time()),
            state_nonce=reader.nonce(decoded.sender),
            balance=reader.balance(decoded.sender),
            now=now if now is not None else time.time(),
        )
        self._decoded[decoded.hash] = decoded
        return decoded

    def _restore_pool(self) -> None:
        restored = 0
        for raw in self.chain.store.pool_transactions():
            try:
                self.admit(raw)
                restored += 1
            except TransactionRejected:
                continue
        if restored:
            log.info("restored %d pooled transactions", restored)

    def candidates(self) -> list[DecodedTransaction]:
        reader = self.chain.reader_at(self.chain.head)
        selected = self.pool.select(reader.nonce, self.chain.head.gas_limit, 0)
        return [self._decoded[tx.hash] for tx in selected if tx.hash in self._decoded]

    def has_pending(self) -> bool:
        reader = self.chain.reader_at(self.chain.head)
        return self.pool.has_executable(reader.nonce)

    def after_commit(self, record: BlockRecord, now: float) -> None:
        """Tell listeners about the new head, then prune the pool."""
        view = self._block_view(record.hash, True) if self._listeners else None
        mined = set(record.transaction_hashes)
        self.pool.remove(list(mined))
        reader = self.chain.reader_at(self.chain.head)
        dropped = self.pool.on_new_head(reader.nonce, now)
        for tx_hash in list(mined) + list(dropped):
            self._decoded.pop(tx_hash, None)
        if dropped:
            self.chain.store.delete_pool_transactions(dropped)
        if view is None:
            return
        logs = self._logs_of_block(record.hash, record.number)
        for listener in list(self._listeners):
            try:
                listener(view, logs)
            except Exception:  # a listener's failure must not stop the chain
                log.exception("block listener failed")

    # --- logs --------------------------------------------------------------------

    def _logs_of_block(self, block_hash: bytes, number: int) -> list[LogView]:
        raws = self.chain.store.transactions(block_hash)
        receipts = self.chain.store.receipts(block_hash)
        result = []
        log_index = 0
        for tx_index, (raw, receipt) in enumerate(zip(raws, receipts, strict=True)):
            tx_hash = _tx_hash(raw)
            for stored in receipt.logs:
                result.append(
                    LogView(
                        address=stored.address, topics=stored.topics, data=stored.data,
                        block_number=number, block_hash=block_hash, transaction_hash=tx_hash,
                        transaction_index=tx_index, log_index=log_index,
                    )
                )
                log_index += 1
        return result

    def get_logs(self, log_filter: LogFilter) -> list[LogView]:
        if log_filter.block_hash is not None:
            header = self.chain.header_by_hash(log_filter.block_hash)
            if header is None:
                raise NotFound(f"block 0x{log_filter.block_hash.hex()} does not exist")
            numbers: list[int] = [header.block_number]
        else:
            first, requested_last = log_filter.from_block, log_filter.to_block
            if first > requested_last:
                raise InvalidParams(f"fromBlock {first} is after toBlock {requested_last}")
            span = requested_last - first + 1
            if span > self._max_logs_block_range:
                raise LimitExceeded(
                    f"block range {first}..{requested_last} spans {span} blocks; "
                    f"the limit is {self._max_logs_block_range}: split the query"
                )
            last = min(requested_last, self.chain.head_number)
            if first > last:
                return []
            numbers = self._candidate_blocks(log_filter, first, last)
        result = []
        for number in numbers:
            block_hash = self.chain.store.canonical_hash(number)
            if block_hash is None:
                continue
            for entry in self._logs_of_block(block_hash, number):
                if _matches(entry, log_filter):
                    result.append(entry)
        return result

    def _candidate_blocks(self, log_filter: LogFilter, first: int, last: int) -> list[int]:
        """Use the log index: intersect blocks by address and by each topic position."""
        store = self.chain.store
        sets: list[set[int]] = []
        if log_filter.addresses:
            sets.append({n for a in log_filter.addresses for n in store.blocks_with(b"a", a, first, last)})
        for alternatives in log_filter.topics:
            if alternatives:
                sets.append({n for t in alternatives for n in store.blocks_with(b"t", t, first, last)})
        if not sets:
            any_logs: set[int] = set()
            # No criteria: every block in range may hold logs; the receipts tell.
            return list(range(first, last + 1)) if not any_logs else sorted(any_logs)
        return sorted(set.intersection(*sets))

    def validators_at(self, number: int) -> list[bytes]:
        try:
            return list(self.chain.validators_at(number))
        except KeyError as exc:
            raise NotFound(f"block {number} does not exist") from exc

    def add_block_listener(self, listener: BlockListener) -> None:
        self._listeners.append(listener)

    def remove_block_listener(self, listener: BlockListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)


def _pool_tx(decoded: DecodedTransaction, now: float) -> PoolTransaction:
    return PoolTransaction(
        hash=decoded.hash, sender=decoded.sender, nonce=decoded.nonce, gas=decoded.gas,
        fee_cap=decoded.fee_cap, tip_cap=decoded.tip_cap, value=decoded.value,
        raw=decoded.raw, received_at=now,
    )


def _tx_hash(raw: bytes) -> bytes:
    from eth_utils import keccak

    return keccak(raw)


def _matches(entry: LogView, log_filter: LogFilter) -> bool:
    if log_filter.addresses and entry.address not in log_filter.addresses:
        return False
    for position, alternatives in enumerate(log_filter.topics):
        if not alternatives:
            continue
        if position >= len(entry.topics) or entry.topics[position] not in alternatives:
            return False
    return True


def _bloom(logs: Sequence[LogView]) -> bytes:
    from eth_bloom import BloomFilter

    bloom = BloomFilter()
    for entry in logs:
        bloom.add(entry.address)
        for topic in entry.topics:
            bloom.add(topic)
    return int(bloom).to_bytes(256, "big")

