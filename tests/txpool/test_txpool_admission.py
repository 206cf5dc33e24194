"""Admission rules: each rejection reason and its message, replacement, eviction."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import pytest

from chain.errors import TransactionRejected
from chain.txpool import PoolConfig, PoolTransaction, TransactionPool

RICH = 10**30


def tx(
    sender: int = 1,
    nonce: int = 0,
    *,
    gas: int = 21_000,
    fee: int = 10,
    tip: int | None = None,
    value: int = 0,
    at: float = 0.0,
) -> PoolTransaction:
    tip = fee if tip is None else tip
    fields = (sender, nonce, gas, fee, tip, value, at)
    return PoolTransaction(
        hash=hashlib.sha256(repr(fields).encode()).digest(),
        sender=bytes([sender]) * 20,
        nonce=nonce,
        gas=gas,
        fee_cap=fee,
        tip_cap=tip,
        value=value,
        raw=b"",
        received_at=at,
    )


def pool_with(config: PoolConfig, pooled: list[PoolTransaction]) -> TransactionPool:
    pool = TransactionPool(config)
    for pooled_tx in pooled:
        pool.add(pooled_tx, state_nonce=0, balance=RICH, now=0.0)
    return pool


@dataclass(frozen=True)
class Case:
    id: str
    new: PoolTransaction
    reason: str
    says: tuple[str, ...]
    pooled: list[PoolTransaction] = field(default_factory=list)
    config: PoolConfig = PoolConfig()
    state_nonce: int = 0
    balance: int = RICH


REJECTIONS = [
    Case("already_known", tx(), "already_known", ("already pooled", "0x"), pooled=[tx()]),
    Case(
        "nonce_too_low",
        tx(nonce=3),
        "nonce_too_low",
        ("nonce 3", "account nonce is 5", "nonce 5"),
        state_nonce=5,
    ),
    Case(
        "nonce_too_low_names_pending_nonce",
        tx(nonce=0),
        "nonce_too_low",
        ("account nonce is 1", "with nonce 3"),
        pooled=[tx(nonce=1), tx(nonce=2)],
        state_nonce=1,
    ),
    Case(
        "nonce_too_high",
        tx(nonce=4),
        "nonce_too_high",
        ("nonce 4", "next nonce is 1", "highest acceptable is 3"),
        pooled=[tx(nonce=0)],
        config=PoolConfig(max_nonce_gap=2),
    ),
    Case(
        "nonce_too_high_counts_from_the_contiguous_run",
        tx(nonce=3),
        "nonce_too_high",
        ("next nonce is 0", "highest acceptable is 2"),
        pooled=[tx(nonce=2)],
        config=PoolConfig(max_nonce_gap=2),
    ),
    Case(
        "fee_too_low_below_min_tip",
        tx(fee=10, tip=4),
        "fee_too_low",
        ("4", "minimum 5"),
        config=PoolConfig(min_tip=5),
    ),
    Case(
        "fee_too_low_fee_cap_below_tip",
        tx(fee=5, tip=6),
        "fee_too_low",
        ("max fee per gas 5", "priority fee per gas 6"),
    ),
    Case(
        "insufficient_funds",
        tx(value=1),
        "insufficient_funds",
        ("balance 210000", "210001 wei needed", "value 1"),
        balance=210_000,
    ),
    Case(
        "insufficient_funds_counts_earlier_pooled",
        tx(nonce=1, value=5),
        "insufficient_funds",
        ("balance 420000", "420005 wei needed", "1 earlier pooled transactions 210000"),
        pooled=[tx(nonce=0)],
        balance=420_000,
    ),
    Case(
        "replacement_underpriced",
        tx(fee=109, tip=60),
        "replacement_underpriced",
        ("nonce 0", "max fee per gas >= 110", "priority fee >= 55", "+10%", "got 109 and 60"),
        pooled=[tx(fee=100, tip=50)],
    ),
    Case(
        "replacement_underpriced_tip",
        tx(fee=200, tip=54),
        "replacement_underpriced",
        ("priority fee >= 55",),
        pooled=[tx(fee=100, tip=50)],
    ),
    Case(
        "sender_pool_full",
        tx(nonce=2),
        "sender_pool_full",
        ("2 transactions pooled",),
        pooled=[tx(nonce=0), tx(nonce=1)],
        config=PoolConfig(max_per_sender=2),
    ),
    Case(
        "pool_full_when_not_paying_more",
        tx(sender=3, tip=10),
        "pool_full",
        ("full (2 transactions)", "more than 10"),
        pooled=[tx(sender=1, tip=10), tx(sender=2, tip=20, fee=20)],
        config=PoolConfig(max_transactions=2),
    ),
    Case(
        "pool_full_never_evicts_own_lower_nonce",
        tx(sender=1, nonce=2, fee=100),
        "pool_full",
        ("full (2 transactions)", "none can make room"),
        pooled=[tx(sender=1, nonce=0, fee=1), tx(sender=1, nonce=1, fee=1)],
        config=PoolConfig(max_transactions=2),
    ),
]


@pytest.mark.parametrize("case", REJECTIONS, ids=lambda case: case.id)
def test_rejection_says_why_and_changes_nothing(case: Case) -> None:
    pool = pool_with(case.config, case.pooled)
    before = pool.transactions()

    with pytest.raises(TransactionRejected) as raised:
        pool.add(case.new, state_nonce=case.state_nonce, balance=case.balance, now=0.0)

    assert raised.value.reason == case.reason
    for fragment in case.says:
        assert fragment in raised.value.message
    assert pool.transactions() == before


ACCEPTED = [
    Case(
        "gap_at_exactly_max",
        tx(nonce=3),
        "",
        (),
        pooled=[tx(nonce=0)],
        config=PoolConfig(max_nonce_gap=2),
    ),
    Case("balance_exactly_cost", tx(value=1), "", (), balance=210_001),
    Case("tip_exactly_min", tx(fee=10, tip=5), "", (), config=PoolConfig(min_tip=5)),
    Case("replacement_exactly_plus_10", tx(fee=110), "", (), pooled=[tx(fee=100)]),
    Case("replacement_rounds_up", tx(fee=17), "", (), pooled=[tx(fee=15)]),
    Case("replacement_of_zero_tip", tx(fee=11, tip=0), "", (), pooled=[tx(fee=10, tip=0)]),
    Case(
        "replacement_when_sender_full",
        tx(nonce=1, fee=11),
        "",
        (),
        pooled=[tx(nonce=0), tx(nonce=1)],
        config=PoolConfig(max_per_sender=2, max_transactions=2),
    ),
]


@pytest.mark.parametrize("case", ACCEPTED, ids=lambda case: case.id)
def test_accepted_at_the_boundary(case: Case) -> None:
    pool = pool_with(case.config, case.pooled)

    pool.add(case.new, state_nonce=case.state_nonce, balance=case.balance, now=0.0)

    assert pool.get(case.new.hash) == case.new


def test_replacement_below_rounded_minimum_is_refused() -> None:
    pool = pool_with(PoolConfig(), [tx(fee=15)])

    with pytest.raises(TransactionRejected) as raised:
        pool.add(tx(fee=16), state_nonce=0, balance=RICH, now=0.0)

    assert raised.value.reason == "replacement_underpriced"
    assert ">= 17" in raised.value.message


def test_replacement_takes_the_slot_in_place() -> None:
    old, new = tx(nonce=0, fee=100), tx(nonce=0, fee=110)
    pool = pool_with(PoolConfig(), [old, tx(nonce=1)])

    pool.add(new, state_nonce=0, balance=RICH, now=0.0)

    assert old.hash not in pool and new.hash in pool
    assert len(pool) == 2
    assert pool.select(lambda _: 0, gas_limit=10**9, base_fee=0) == [new, tx(nonce=1)]


def test_funds_check_excludes_transactions_below_the_state_nonce() -> None:
    pool = pool_with(PoolConfig(), [tx(nonce=0, value=10**6)])

    pool.add(tx(nonce=1), state_nonce=1, balance=210_000, now=0.0)

    assert len(pool) == 2


def test_full_pool_evicts_cheapest_sender_tail_not_cheapest_overall() -> None:
    cheapest_inner = tx(sender=1, nonce=0, fee=1)
    pooled = [cheapest_inner, tx(sender=1, nonce=1, fee=8), tx(sender=2, nonce=0, fee=3)]
    pool = pool_with(PoolConfig(max_transactions=3), pooled)
    richer = tx(sender=3, fee=4)

    pool.add(richer, state_nonce=0, balance=RICH, now=0.0)

    assert set(pool.transactions()) == {cheapest_inner, tx(sender=1, nonce=1, fee=8), richer}


def test_eviction_follows_the_new_tail_after_a_tail_leaves() -> None:
    pooled = [tx(sender=1, nonce=0, fee=1), tx(sender=1, nonce=1, fee=2), tx(sender=2, fee=50)]
    pool = pool_with(PoolConfig(max_transactions=3), pooled)

    pool.add(tx(sender=3, fee=5), state_nonce=0, balance=RICH, now=0.0)
    pool.add(tx(sender=4, fee=5), state_nonce=0, balance=RICH, now=0.0)

    assert set(pool.transactions()) == {
        tx(sender=2, fee=50),
        tx(sender=3, fee=5),
        tx(sender=4, fee=5),
    }


def test_new_transaction_filling_a_gap_may_evict_its_own_higher_tail() -> None:
    queued = tx(sender=1, nonce=5, fee=1)
    pool = pool_with(PoolConfig(max_transactions=2), [tx(sender=1, nonce=0, fee=9), queued])

    pool.add(tx(sender=1, nonce=1, fee=2), state_nonce=0, balance=RICH, now=0.0)

    assert queued not in pool.transactions()
    assert [t.nonce for t in pool.transactions()] == [0, 1]


def test_full_pool_drops_expired_transactions_before_evicting() -> None:
    config = PoolConfig(max_transactions=2, lifetime_seconds=10)
    pool = pool_with(config, [tx(sender=1, fee=50, at=0.0), tx(sender=2, fee=50, at=5.0)])
    newcomer = tx(sender=3, fee=1, at=11.0)

    pool.add(newcomer, state_nonce=0, balance=RICH, now=11.0)

    assert set(pool.transactions()) == {tx(sender=2, fee=50, at=5.0), newcomer}


@pytest.mark.parametrize(
    "field_name, value",
    [("hash", b"\x00" * 31), ("sender", b"\x00" * 19), ("nonce", -1), ("value", -1)],
)
def test_malformed_pool_transaction_is_a_programming_error(field_name: str, value: object) -> None:
    arguments = {
        "hash": b"\x00" * 32,
        "sender": b"\x00" * 20,
        "nonce": 0,
        "gas": 21_000,
        "fee_cap": 1,
        "tip_cap": 1,
        "value": 0,
        "raw": b"",
        "received_at": 0.0,
        field_name: value,
    }
    with pytest.raises(ValueError):
        PoolTransaction(**arguments)  # type: ignore[arg-type]


def test_eviction_and_expiry_stay_right_after_heavy_churn() -> None:
    # Hundreds of removals and replacements leave stale heap entries behind and
    # force the pool to rebuild its indexes; the rules must not notice.
    config = PoolConfig(max_transactions=3, lifetime_seconds=1_000)
    pool = pool_with(config, [tx(sender=1, fee=100, at=0.0)])
    for round_ in range(300):
        churned = tx(sender=2, nonce=0, fee=1, at=float(round_))
        pool.add(churned, state_nonce=0, balance=RICH, now=float(round_))
        pool.remove([churned.hash])
    fee = 1
    for _ in range(300):
        fee = fee * 11 // 10 + 1
        pool.add(tx(sender=3, fee=fee, at=500.0), state_nonce=0, balance=RICH, now=500.0)
    pool.add(tx(sender=4, fee=5, at=600.0), state_nonce=0, balance=RICH, now=600.0)

    pool.add(tx(sender=5, fee=6, at=700.0), state_nonce=0, balance=RICH, now=700.0)

    assert {t.sender[0] for t in pool.transactions()} == {1, 3, 5}
    assert pool.on_new_head(lambda _: 0, now=1_000.5) == [tx(sender=1, fee=100, at=0.0).hash]
