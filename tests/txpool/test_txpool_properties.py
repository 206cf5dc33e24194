"""Properties over random sequences of adds, removals and new heads."""

from __future__ import annotations

import hashlib
from collections import defaultdict

from hypothesis import given, settings
from hypothesis import strategies as st

from chain.errors import TransactionRejected
from chain.txpool import PoolConfig, PoolTransaction, StateNonceOf, TransactionPool

CONFIG = PoolConfig(max_transactions=6, max_per_sender=4, max_nonce_gap=2, price_bump_percent=10)
SENDERS = 4


@st.composite
def adds(draw: st.DrawFn) -> tuple:
    fee = draw(st.integers(0, 40))
    return (
        "add",
        draw(st.integers(0, SENDERS - 1)),  # sender
        draw(st.sampled_from([0, 0, 0, 1, 1, 2, 3, -1])),  # nonce past the pending one
        draw(st.integers(21_000, 60_000)),  # gas
        fee,
        draw(st.one_of(st.integers(0, fee), st.integers(0, 40))),  # tip, mostly <= fee
        draw(st.sampled_from([10**30, 10**30, 10**30, 10**6, 3 * 10**6])),  # balance
    )


heads = st.tuples(st.just("head"), st.lists(st.integers(0, 2), min_size=SENDERS, max_size=SENDERS))
removals = st.tuples(st.just("remove"), st.integers(0, 50))
# Mostly adds, so the pool fills up and evicts; one in ten a new head, one in ten a removal.
histories = st.lists(
    st.integers(0, 9).flatmap(lambda k: heads if k == 0 else removals if k == 1 else adds()),
    min_size=10,
    max_size=120,
)


def sender_address(sender: int) -> bytes:
    return bytes([sender + 1]) * 20


def make_tx(counter: int, sender: int, nonce: int, gas: int, fee: int, tip: int) -> PoolTransaction:
    return PoolTransaction(
        hash=hashlib.sha256(counter.to_bytes(8, "big")).digest(),
        sender=sender_address(sender),
        nonce=nonce,
        gas=gas,
        fee_cap=fee,
        tip_cap=tip,
        value=0,
        raw=b"",
        received_at=0.0,
    )


def assert_evictions_only_took_sender_tails(
    before: list[PoolTransaction], after: list[PoolTransaction], new: PoolTransaction
) -> None:
    highest: dict[bytes, int] = defaultdict(int)
    for pooled in before:
        highest[pooled.sender] = max(highest[pooled.sender], pooled.nonce)
    for gone in set(before) - set(after):
        if (gone.sender, gone.nonce) == (new.sender, new.nonce):
            continue  # replaced
        assert gone.nonce == highest[gone.sender]
        assert gone.sender != new.sender or gone.nonce > new.nonce
        assert gone.tip_cap < new.tip_cap


def assert_consistent(pool: TransactionPool) -> None:
    everything = pool.transactions()
    assert len(pool) == len(everything) <= CONFIG.max_transactions
    per_sender: dict[bytes, int] = defaultdict(int)
    for pooled in everything:
        assert pool.get(pooled.hash) == pooled
        per_sender[pooled.sender] += 1
    assert max(per_sender.values(), default=0) <= CONFIG.max_per_sender
    assert len({(t.sender, t.nonce) for t in everything}) == len(everything)


def assert_selection_is_executable(
    pool: TransactionPool, state_nonce_of: StateNonceOf, gas_limit: int, base_fee: int
) -> None:
    selected = pool.select(state_nonce_of, gas_limit=gas_limit, base_fee=base_fee)

    assert sum(t.gas for t in selected) <= gas_limit
    assert all(t.fee_cap >= base_fee for t in selected)
    next_nonce = {sender_address(s): state_nonce_of(sender_address(s)) for s in range(SENDERS)}
    for chosen in selected:
        assert chosen.nonce == next_nonce[chosen.sender]  # contiguous from the state nonce
        next_nonce[chosen.sender] += 1
    assert pool.has_executable(state_nonce_of) or not selected


@settings(max_examples=300, deadline=None)
@given(
    operations=histories,
    gas_limit=st.integers(0, 200_000),
    base_fee=st.integers(0, 12),
)
def test_pool_invariants_and_select_never_gaps_or_overfills(
    operations: list[tuple], gas_limit: int, base_fee: int
) -> None:
    pool = TransactionPool(CONFIG)
    state = [0] * SENDERS
    counter = 0

    def state_nonce_of(address: bytes) -> int:
        return state[address[0] - 1]

    for operation in operations:
        if operation[0] == "add":
            _, sender, offset, gas, fee, tip, balance = operation
            counter += 1
            nonce = max(0, pool.pending_nonce(sender_address(sender), state[sender]) + offset)
            new = make_tx(counter, sender, nonce, gas, fee, tip)
            before = pool.transactions()
            try:
                pool.add(new, state_nonce=state[sender], balance=balance, now=0.0)
            except TransactionRejected:
                assert pool.transactions() == before
            else:
                assert_evictions_only_took_sender_tails(before, pool.transactions(), new)
        elif operation[0] == "head":
            state[:] = [nonce + step for nonce, step in zip(state, operation[1], strict=True)]
            pool.on_new_head(state_nonce_of, now=0.0)
            assert all(t.nonce >= state_nonce_of(t.sender) for t in pool.transactions())
        else:
            everything = pool.transactions()
            if everything:
                pool.remove([everything[operation[1] % len(everything)].hash])
        assert_consistent(pool)
        assert_selection_is_executable(pool, state_nonce_of, gas_limit, base_fee)
