"""Block selection, head pruning, expiry and the read-only queries."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest

from chain.txpool import PoolConfig, PoolStats, PoolTransaction, TransactionPool

RICH = 10**30


def tx(
    sender: int = 1,
    nonce: int = 0,
    *,
    gas: int = 21_000,
    fee: int = 10,
    tip: int | None = None,
    at: float = 0.0,
) -> PoolTransaction:
    tip = fee if tip is None else tip
    fields = (sender, nonce, gas, fee, tip, at)
    return PoolTransaction(
        hash=hashlib.sha256(repr(fields).encode()).digest(),
        sender=bytes([sender]) * 20,
        nonce=nonce,
        gas=gas,
        fee_cap=fee,
        tip_cap=tip,
        value=0,
        raw=b"",
        received_at=at,
    )


def nonces(state: dict[int, int]) -> Callable[[bytes], int]:
    """A state_nonce_of over senders named by their repeated byte; 0 if unnamed."""
    return lambda sender: state.get(sender[0], 0)


def pool_with(pooled: list[PoolTransaction], config: PoolConfig | None = None) -> TransactionPool:
    pool = TransactionPool(config)
    for pooled_tx in pooled:
        pool.add(pooled_tx, state_nonce=0, balance=RICH, now=pooled_tx.received_at)
    return pool


SELECTIONS = [
    (
        "highest_effective_tip_first_nonce_order_within_sender",
        [tx(1, 0, fee=1), tx(1, 1, fee=10), tx(2, 0, fee=5)],
        {},
        dict(gas_limit=10**9, base_fee=0),
        [tx(2, 0, fee=5), tx(1, 0, fee=1), tx(1, 1, fee=10)],
    ),
    (
        "effective_tip_is_capped_by_fee_minus_base_fee",
        [tx(1, 0, fee=20, tip=15), tx(2, 0, fee=100, tip=12)],
        {},
        dict(gas_limit=10**9, base_fee=10),
        [tx(2, 0, fee=100, tip=12), tx(1, 0, fee=20, tip=15)],
    ),
    (
        "equal_tips_go_by_arrival",
        [tx(1, 0, at=2.0), tx(2, 0, at=1.0), tx(3, 0, at=3.0)],
        {},
        dict(gas_limit=10**9, base_fee=0),
        [tx(2, 0, at=1.0), tx(1, 0, at=2.0), tx(3, 0, at=3.0)],
    ),
    (
        "queued_behind_a_gap_is_not_selected",
        [tx(1, 0), tx(1, 2), tx(2, 1)],
        {},
        dict(gas_limit=10**9, base_fee=0),
        [tx(1, 0)],
    ),
    (
        "run_starts_at_the_state_nonce",
        [tx(1, 0), tx(1, 1), tx(1, 2)],
        {1: 1},
        dict(gas_limit=10**9, base_fee=0),
        [tx(1, 1), tx(1, 2)],
    ),
    (
        "a_sender_stops_at_the_first_misfit_others_go_on",
        [
            tx(1, 0, gas=30_000, fee=10),
            tx(1, 1, gas=25_000, fee=10),
            tx(1, 2, gas=1_000, fee=10),
            tx(2, 0, gas=20_000, fee=1),
        ],
        {},
        dict(gas_limit=50_000, base_fee=0),
        [tx(1, 0, gas=30_000, fee=10), tx(2, 0, gas=20_000, fee=1)],
    ),
    (
        "fee_cap_below_base_fee_blocks_the_sender",
        [tx(1, 0, fee=5), tx(1, 1, fee=100), tx(2, 0, fee=10)],
        {},
        dict(gas_limit=10**9, base_fee=10),
        [tx(2, 0, fee=10)],
    ),
    (
        "max_count",
        [tx(1, 0, fee=3), tx(2, 0, fee=2), tx(3, 0, fee=1)],
        {},
        dict(gas_limit=10**9, base_fee=0, max_count=2),
        [tx(1, 0, fee=3), tx(2, 0, fee=2)],
    ),
    ("empty", [], {}, dict(gas_limit=10**9, base_fee=0), []),
]


@pytest.mark.parametrize(
    "pooled, state, arguments, expected",
    [case[1:] for case in SELECTIONS],
    ids=[case[0] for case in SELECTIONS],
)
def test_select(
    pooled: list[PoolTransaction],
    state: dict[int, int],
    arguments: dict[str, int],
    expected: list[PoolTransaction],
) -> None:
    pool = pool_with(pooled)

    assert pool.select(nonces(state), **arguments) == expected


def test_queued_transactions_are_selected_once_the_gap_fills() -> None:
    pool = pool_with([tx(1, 0), tx(1, 2)])

    pool.add(tx(1, 1), state_nonce=0, balance=RICH, now=0.0)

    assert pool.select(nonces({}), gas_limit=10**9, base_fee=0) == [tx(1, 0), tx(1, 1), tx(1, 2)]


def test_on_new_head_drops_mined_nonces_and_returns_their_hashes() -> None:
    pool = pool_with([tx(1, 0), tx(1, 1), tx(1, 2), tx(2, 0)])

    dropped = pool.on_new_head(nonces({1: 2}), now=0.0)

    assert sorted(dropped) == sorted([tx(1, 0).hash, tx(1, 1).hash])
    assert set(pool.transactions()) == {tx(1, 2), tx(2, 0)}
    assert pool.select(nonces({1: 2}), gas_limit=10**9, base_fee=0) == [tx(1, 2), tx(2, 0)]


@pytest.mark.parametrize(
    "now, survivors",
    [(100.0, {0.0, 50.0}), (100.5, {50.0}), (151.0, set())],
    ids=["exactly_lifetime_is_kept", "older_is_dropped", "all_expired"],
)
def test_on_new_head_expires_after_lifetime(now: float, survivors: set[float]) -> None:
    pool = pool_with([tx(1, 0, at=0.0), tx(2, 0, at=50.0)], PoolConfig(lifetime_seconds=100))

    dropped = pool.on_new_head(nonces({}), now=now)

    assert {t.received_at for t in pool.transactions()} == survivors
    assert len(dropped) == 2 - len(survivors)


def test_expiry_of_a_replaced_transaction_follows_the_replacement() -> None:
    pool = pool_with([tx(1, 0, fee=10, at=0.0)], PoolConfig(lifetime_seconds=100))
    replacement = tx(1, 0, fee=11, at=90.0)
    pool.add(replacement, state_nonce=0, balance=RICH, now=90.0)

    assert pool.on_new_head(nonces({}), now=150.0) == []
    assert pool.transactions() == [replacement]


def test_remove_ignores_unknown_hashes() -> None:
    pool = pool_with([tx(1, 0), tx(1, 1)])

    pool.remove([tx(1, 1).hash, b"\xff" * 32])

    assert pool.transactions() == [tx(1, 0)]
    assert tx(1, 1).hash not in pool and pool.get(tx(1, 1).hash) is None


def test_queries() -> None:
    pool = pool_with([tx(1, 0), tx(1, 1), tx(1, 3), tx(2, 5)])

    assert len(pool) == 4
    assert pool.pending_nonce(bytes([1]) * 20, 0) == 2
    assert pool.pending_nonce(bytes([1]) * 20, 3) == 4
    assert pool.pending_nonce(bytes([9]) * 20, 7) == 7
    assert pool.stats(nonces({})) == PoolStats(pending=2, queued=2)
    assert pool.stats(nonces({2: 5})) == PoolStats(pending=3, queued=1)
    assert pool.has_executable(nonces({}))
    assert pool.has_executable(nonces({1: 3}))
    assert not pool.has_executable(nonces({1: 4}))
    assert not pool_with([tx(1, 1)]).has_executable(nonces({}))


def test_transactions_restore_an_equal_pool() -> None:
    config = PoolConfig(max_nonce_gap=1)
    pool = pool_with([tx(1, 0), tx(1, 2), tx(2, 0), tx(1, 1), tx(1, 4)], config)

    restored = pool_with(pool.transactions(), config)

    assert restored.transactions() == pool.transactions()
