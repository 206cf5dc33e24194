"""Seen cache, redial backoff and the duplicate-connection tie-break, pure."""

from __future__ import annotations

import pytest

from chain.p2p.gossip import SeenCache, calculate_backoff, gossip_id
from chain.p2p.peer import keeps_new_connection


def test_seen_cache_reports_first_sight_only() -> None:
    cache = SeenCache(2)
    assert cache.add(b"a") and not cache.add(b"a")
    assert cache.add(b"b")
    assert not cache.add(b"a")  # refreshes a: b is now the oldest
    assert cache.add(b"c")  # evicts b
    assert b"a" in cache and b"c" in cache and b"b" not in cache
    assert len(cache) == 2


def test_gossip_id_depends_on_type_and_payload() -> None:
    assert gossip_id(0x10, b"x") == gossip_id(0x10, b"x")
    assert gossip_id(0x10, b"x") != gossip_id(0x12, b"x")


@pytest.mark.parametrize(
    ("attempt", "random_fraction", "expected"),
    [
        (0, 0.0, 0.5),
        (1, 0.0, 1.0),
        (3, 0.0, 4.0),
        (3, 0.5, 3.0),
        (6, 0.0, 30.0),  # capped
        (1000, 0.0, 30.0),  # no overflow
        (1000, 0.999, 30.0 * (1 - 0.4995)),
    ],
)
def test_backoff(attempt: int, random_fraction: float, expected: float) -> None:
    assert calculate_backoff(attempt, 0.5, 30.0, random_fraction) == pytest.approx(expected)


def test_backoff_never_exceeds_its_cap() -> None:
    for attempt in range(100):
        for fraction in (0.0, 0.25, 0.999):
            assert 0 < calculate_backoff(attempt, 0.5, 30.0, fraction) <= 30.0
    with pytest.raises(ValueError):
        calculate_backoff(0, 0.5, 30.0, 1.0)


LOW, HIGH = b"\x01" * 32, b"\x02" * 32


@pytest.mark.parametrize(
    ("local", "peer", "new_inbound", "old_inbound", "keep_new"),
    [
        # The connection dialed by the smaller id wins, seen from either end.
        (LOW, HIGH, False, True, True),  # LOW's view: new is its own dial
        (LOW, HIGH, True, False, False),
        (HIGH, LOW, True, False, True),  # HIGH's view: new was dialed by LOW
        (HIGH, LOW, False, True, False),
        # Same dialer twice: the old connection is stale.
        (LOW, HIGH, True, True, True),
        (HIGH, LOW, False, False, True),
    ],
)
def test_one_connection_per_peer_tie_break(
    local: bytes, peer: bytes, new_inbound: bool, old_inbound: bool, keep_new: bool
) -> None:
    assert keeps_new_connection(local, peer, new_inbound, old_inbound) is keep_new
