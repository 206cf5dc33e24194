"""The transaction pool: admission, replacement, eviction and block selection.

Pure: the caller passes what the pool cannot know itself (the sender's state nonce
and balance at head, the base fee, the current time). Nothing here reads a clock,
storage or the EVM, so every rule can be tested from a table.

Indexes: by hash; by sender, nonces kept sorted; and two heaps with lazy deletion,
one over each sender's highest-nonce transaction (eviction candidates) and one by
arrival time (expiry). Stale heap entries are skipped when met and the heaps are
rebuilt once they hold more stale entries than live ones.
"""

from __future__ import annotations

import bisect
import heapq
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from chain.errors import TransactionRejected
from chain.txpool.config import PoolConfig
from chain.types import Address, Hash32

StateNonceOf = Callable[[Address], int]


@dataclass(frozen=True, slots=True)
class PoolTransaction:
    """What the pool needs of a decoded, signature-checked transaction.

    ``fee_cap`` is gas_price (legacy, 2930) or max_fee_per_gas (1559); ``tip_cap`` is
    gas_price or max_priority_fee_per_gas.
    """

    hash: Hash32
    sender: Address
    nonce: int
    gas: int
    fee_cap: int
    tip_cap: int
    value: int
    raw: bytes
    received_at: float

    def __post_init__(self) -> None:
        # A malformed value here is a decoding bug of ours, not a peer's fault.
        if len(self.hash) != 32:
            raise ValueError(f"hash must be 32 bytes, got {len(self.hash)}")
        if len(self.sender) != 20:
            raise ValueError(f"sender must be 20 bytes, got {len(self.sender)}")
        for name in ("nonce", "gas", "fee_cap", "tip_cap", "value"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")

    @property
    def cost(self) -> int:
        """The most the transaction can take from the sender's balance."""
        return self.gas * self.fee_cap + self.value


@dataclass(frozen=True, slots=True)
class PoolStats:
    pending: int  # executable now: in each sender's contiguous run from its state nonce
    queued: int  # everything else: behind a nonce gap, or below the state nonce until pruned


def calculate_effective_tip(tx: PoolTransaction, base_fee: int) -> int:
    return min(tx.tip_cap, tx.fee_cap - base_fee)


def calculate_replacement_minimum(price: int, bump_percent: int) -> int:
    """The lowest price that replaces ``price``: ceil(price × (100 + bump) / 100)."""
    return -(-price * (100 + bump_percent) // 100)


def _hex(data: bytes) -> str:
    return "0x" + data.hex()


class _SenderQueue:
    """One sender's pooled transactions, by nonce."""

    __slots__ = ("by_nonce", "nonces")

    def __init__(self) -> None:
        self.by_nonce: dict[int, PoolTransaction] = {}
        self.nonces: list[int] = []  # sorted

    def __len__(self) -> int:
        return len(self.nonces)

    def put(self, tx: PoolTransaction) -> PoolTransaction | None:
        """Insert ``tx``; return the transaction it replaced at the same nonce, if any."""
        old = self.by_nonce.get(tx.nonce)
        if old is None:
            bisect.insort(self.nonces, tx.nonce)
        self.by_nonce[tx.nonce] = tx
        return old

    def pop(self, nonce: int) -> PoolTransaction:
        del self.nonces[bisect.bisect_left(self.nonces, nonce)]
        return self.by_nonce.pop(nonce)

    def tail(self) -> PoolTransaction:
        return self.by_nonce[self.nonces[-1]]

    def run(self, state_nonce: int) -> Iterator[PoolTransaction]:
        """The contiguous transactions from ``state_nonce`` on, in nonce order."""
        nonce = state_nonce
        while (tx := self.by_nonce.get(nonce)) is not None:
            yield tx
            nonce += 1

    def between(self, low: int, high: int) -> list[PoolTransaction]:
        """Transactions with ``low <= nonce < high``."""
        lo = bisect.bisect_left(self.nonces, low)
        hi = bisect.bisect_left(self.nonces, high)
        return [self.by_nonce[nonce] for nonce in self.nonces[lo:hi]]


class TransactionPool:
    """Transactions waiting for a block, at most ``config.max_transactions`` of them."""

    def __init__(self, config: PoolConfig | None = None) -> None:
        self.config = config or PoolConfig()
        self._by_hash: dict[Hash32, PoolTransaction] = {}
        self._arrival: dict[Hash32, int] = {}  # hash -> admission sequence, breaks ties
        self._senders: dict[Address, _SenderQueue] = {}
        self._sequence = itertools.count()
        # (tip_cap, fee_cap, -arrival, hash): cheapest first, newest first among equals.
        self._tails: list[tuple[int, int, int, Hash32]] = []
        # (received_at, arrival, hash): oldest first.
        self._ages: list[tuple[float, int, Hash32]] = []

    # -- queries ---------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: object) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: Hash32) -> PoolTransaction | None:
        return self._by_hash.get(tx_hash)

    def transactions(self) -> list[PoolTransaction]:
        """Every pooled transaction, each sender's in nonce order, so re-adding them
        one by one into an empty pool restores it without tripping the nonce-gap rule."""
        return [q.by_nonce[n] for q in self._senders.values() for n in q.nonces]

    def pending_nonce(self, sender: Address, state_nonce: int) -> int:
        """The nonce after the sender's contiguous pooled run starting at ``state_nonce``."""
        queue = self._senders.get(sender)
        if queue is None:
            return state_nonce
        return state_nonce + sum(1 for _ in queue.run(state_nonce))

    def has_executable(self, state_nonce_of: StateNonceOf) -> bool:
        """Whether some sender has a transaction at its state nonce (fees and gas aside)."""
        return any(
            state_nonce_of(sender) in queue.by_nonce for sender, queue in self._senders.items()
        )

    def stats(self, state_nonce_of: StateNonceOf) -> PoolStats:
        pending = 0
        for sender, queue in self._senders.items():
            pending += sum(1 for _ in queue.run(state_nonce_of(sender)))
        return PoolStats(pending=pending, queued=len(self) - pending)

    def select(
        self,
        state_nonce_of: StateNonceOf,
        gas_limit: int,
        base_fee: int,
        max_count: int | None = None,
    ) -> list[PoolTransaction]:
        """The transactions for the next block, in the order to execute them.

        Per sender only the contiguous run from its state nonce, in nonce order;
        across senders by effective tip, highest first, then by arrival. A sender's
        run stops at the first transaction whose fee cap is below ``base_fee`` or
        that does not fit the remaining gas, since its later nonces cannot run
        without it; other senders go on.
        """
        if gas_limit < 0 or base_fee < 0:
            raise ValueError(
                f"gas_limit and base_fee must not be negative: {gas_limit}, {base_fee}"
            )
        heads: list[tuple[int, float, int, PoolTransaction, Iterator[PoolTransaction]]] = []

        def push_next(run: Iterator[PoolTransaction]) -> None:
            tx = next(run, None)
            if tx is not None:
                tip = calculate_effective_tip(tx, base_fee)
                heapq.heappush(heads, (-tip, tx.received_at, self._arrival[tx.hash], tx, run))

        for sender, queue in self._senders.items():
            push_next(queue.run(state_nonce_of(sender)))
        selected: list[PoolTransaction] = []
        remaining = gas_limit
        while heads and (max_count is None or len(selected) < max_count):
            *_, tx, run = heapq.heappop(heads)
            if tx.fee_cap < base_fee or tx.gas > remaining:
                continue  # drops the rest of this sender's run
            selected.append(tx)
            remaining -= tx.gas
            push_next(run)
        return selected

    # -- changes ---------------------------------------------------------------

    def add(self, tx: PoolTransaction, state_nonce: int, balance: int, now: float) -> None:
        """Admit ``tx`` or raise TransactionRejected; a rejected transaction changes nothing.

        A transaction at a nonce the sender already has pooled replaces it in place.
        When the pool is full, transactions older than the lifetime are dropped
        first (as ``on_new_head`` would); if that frees no room, the cheapest
        transaction that is its sender's highest nonce is evicted, provided ``tx``
        pays a strictly higher tip.
        """
        if tx.hash in self._by_hash:
            raise TransactionRejected(
                "already_known", f"transaction {_hex(tx.hash)} is already pooled"
            )
        if tx.nonce < state_nonce:
            raise TransactionRejected(
                "nonce_too_low",
                f"nonce {tx.nonce} is already used: the account nonce is {state_nonce}; "
                f"sign a new transaction with nonce {self.pending_nonce(tx.sender, state_nonce)}",
            )
        self._validate_fees(tx)
        queue = self._senders.get(tx.sender)
        replaced = queue.by_nonce.get(tx.nonce) if queue is not None else None
        if replaced is not None:
            self._validate_replacement(tx, replaced)
        else:
            self._validate_nonce_gap(tx, state_nonce)
        self._validate_funds(tx, state_nonce, balance)
        victim = None
        if replaced is None:
            if queue is not None and len(queue) >= self.config.max_per_sender:
                raise TransactionRejected(
                    "sender_pool_full",
                    f"the sender already has {len(queue)} transactions pooled, the most allowed; "
                    f"wait for some to be included, or replace one at a pooled nonce",
                )
            if len(self) >= self.config.max_transactions:
                self._expire(now)
            if len(self) >= self.config.max_transactions:
                victim = self._eviction_candidate(tx)
                self._validate_outbids(tx, victim)
        if victim is not None:
            self._discard(victim)
        self._insert(tx)

    def remove(self, hashes: Iterable[Hash32]) -> None:
        """Remove the named transactions; unknown hashes are ignored."""
        for tx_hash in hashes:
            tx = self._by_hash.get(tx_hash)
            if tx is not None:
                self._discard(tx)

    def on_new_head(self, state_nonce_of: StateNonceOf, now: float) -> list[Hash32]:
        """Drop transactions below their sender's new state nonce (mined, or another
        transaction at that nonce was) and those older than the lifetime.

        Returns the dropped hashes. Expiry may leave a gap before a sender's later
        transactions; they stay queued until the nonce is sent again or they expire.
        """
        dropped: list[Hash32] = []
        for sender, queue in list(self._senders.items()):
            for tx in queue.between(0, state_nonce_of(sender)):
                self._discard(tx)
                dropped.append(tx.hash)
        dropped.extend(self._expire(now))
        return dropped

    # -- rules -----------------------------------------------------------------

    def _validate_fees(self, tx: PoolTransaction) -> None:
        if tx.fee_cap < tx.tip_cap:
            raise TransactionRejected(
                "fee_too_low",
                f"max fee per gas {tx.fee_cap} is below max priority fee per gas {tx.tip_cap}; "
                f"the fee cap must be at least the tip",
            )
        if tx.tip_cap < self.config.min_tip:
            raise TransactionRejected(
                "fee_too_low",
                f"priority fee (tip) {tx.tip_cap} is below this node's minimum {self.config.min_tip}; "
                f"raise it to at least {self.config.min_tip}",
            )

    def _validate_replacement(self, tx: PoolTransaction, old: PoolTransaction) -> None:
        bump = self.config.price_bump_percent
        min_fee = calculate_replacement_minimum(old.fee_cap, bump)
        min_tip = calculate_replacement_minimum(old.tip_cap, bump)
        if tx.fee_cap < min_fee or tx.tip_cap < min_tip:
            raise TransactionRejected(
                "replacement_underpriced",
                f"transaction {_hex(old.hash)} already holds nonce {tx.nonce}; a replacement "
                f"needs max fee per gas >= {min_fee} and priority fee >= {min_tip} (+{bump}%), "
                f"got {tx.fee_cap} and {tx.tip_cap}",
            )

    def _validate_nonce_gap(self, tx: PoolTransaction, state_nonce: int) -> None:
        pending = self.pending_nonce(tx.sender, state_nonce)
        highest = pending + self.config.max_nonce_gap
        if tx.nonce > highest:
            raise TransactionRejected(
                "nonce_too_high",
                f"nonce {tx.nonce} is too far ahead: the account's next nonce is {pending} and "
                f"the highest acceptable is {highest}; send the missing nonces first",
            )

    def _validate_funds(self, tx: PoolTransaction, state_nonce: int, balance: int) -> None:
        queue = self._senders.get(tx.sender)
        earlier = queue.between(state_nonce, tx.nonce) if queue is not None else []
        earlier_cost = sum(t.cost for t in earlier)
        needed = earlier_cost + tx.cost
        if balance < needed:
            raise TransactionRejected(
                "insufficient_funds",
                f"balance {balance} wei is below the {needed} wei needed: this transaction may "
                f"cost {tx.cost} (gas {tx.gas} x max fee {tx.fee_cap} + value {tx.value}) and "
                f"the sender's {len(earlier)} earlier pooled transactions {earlier_cost}; "
                f"fund the account or lower the value or fees",
            )

    def _validate_outbids(self, tx: PoolTransaction, victim: PoolTransaction | None) -> None:
        if victim is None:
            raise TransactionRejected(
                "pool_full",
                f"the pool is full ({len(self)} transactions) and none can make room; retry later",
            )
        if tx.tip_cap <= victim.tip_cap:
            raise TransactionRejected(
                "pool_full",
                f"the pool is full ({len(self)} transactions) and the cheapest evictable one "
                f"pays a priority fee of {victim.tip_cap}; offer more than {victim.tip_cap} or retry later",
            )

    def _eviction_candidate(self, tx: PoolTransaction) -> PoolTransaction | None:
        """The cheapest sender-tail transaction that ``tx`` may displace.

        Only a sender's highest nonce is a candidate, so eviction never opens a gap;
        for the same reason not the new transaction's own sender's tail below it.
        """
        set_aside = []
        found = None
        while self._tails:
            _, _, negative_arrival, tx_hash = self._tails[0]
            candidate = self._by_hash.get(tx_hash)
            if (
                candidate is None
                or self._arrival[tx_hash] != -negative_arrival
                or self._senders[candidate.sender].tail() is not candidate
            ):
                heapq.heappop(self._tails)  # stale: gone, replaced, or no longer the tail
            elif candidate.sender == tx.sender and candidate.nonce < tx.nonce:
                set_aside.append(heapq.heappop(self._tails))
            else:
                found = candidate
                break
        for entry in set_aside:
            heapq.heappush(self._tails, entry)
        return found

    # -- bookkeeping -----------------------------------------------------------

    def _insert(self, tx: PoolTransaction) -> None:
        arrival = next(self._sequence)
        queue = self._senders.setdefault(tx.sender, _SenderQueue())
        replaced = queue.put(tx)
        if replaced is not None:
            del self._by_hash[replaced.hash]
            del self._arrival[replaced.hash]
        self._by_hash[tx.hash] = tx
        self._arrival[tx.hash] = arrival
        if queue.tail() is tx:
            self._push_tail(tx)
        heapq.heappush(self._ages, (tx.received_at, arrival, tx.hash))
        self._compact()

    def _discard(self, tx: PoolTransaction) -> None:
        queue = self._senders[tx.sender]
        was_tail = queue.tail() is tx
        queue.pop(tx.nonce)
        del self._by_hash[tx.hash]
        del self._arrival[tx.hash]
        if not queue:
            del self._senders[tx.sender]
        elif was_tail:
            self._push_tail(queue.tail())

    def _push_tail(self, tx: PoolTransaction) -> None:
        heapq.heappush(self._tails, (tx.tip_cap, tx.fee_cap, -self._arrival[tx.hash], tx.hash))

    def _expire(self, now: float) -> list[Hash32]:
        cutoff = now - self.config.lifetime_seconds
        expired = []
        while self._ages and self._ages[0][0] < cutoff:
            _, arrival, tx_hash = heapq.heappop(self._ages)
            tx = self._by_hash.get(tx_hash)
            if tx is not None and self._arrival[tx_hash] == arrival:
                self._discard(tx)
                expired.append(tx_hash)
        return expired

    def _compact(self) -> None:
        """Rebuild the heaps once stale entries outnumber live ones (amortised O(1))."""
        limit = 2 * len(self._by_hash) + 64
        if len(self._tails) > limit:
            self._tails = []
            for queue in self._senders.values():
                self._push_tail(queue.tail())
        if len(self._ages) > limit:
            self._ages = [(t.received_at, self._arrival[h], h) for h, t in self._by_hash.items()]
            heapq.heapify(self._ages)
