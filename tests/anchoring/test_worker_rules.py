"""The anchoring worker's rules against a fake chain: idempotent, ordered, no gaps."""

from __future__ import annotations

import pytest

from anchoring.worker import (
    AnchorOnChain,
    AnchorRejected,
    ChainUnavailable,
    Outcome,
    PendingAnchor,
    anchor_pending,
    backoff_seconds,
)

LOG = b"\x01" * 32
OTHER = b"\x02" * 32


class FakeChain:
    def __init__(self) -> None:
        self.anchors: dict[bytes, list[AnchorOnChain]] = {}
        self.down = False
        self.refuse: str | None = None
        self.sent = 0

    def latest_anchor(self, log_id: bytes) -> AnchorOnChain | None:
        if self.down:
            raise ChainUnavailable("connection refused")
        return (self.anchors.get(log_id) or [None])[-1]

    def anchor_at_size(self, log_id: bytes, size: int) -> AnchorOnChain | None:
        return next((a for a in self.anchors.get(log_id, []) if a.size == size), None)

    def anchor(self, pending: PendingAnchor) -> tuple[bytes, int]:
        if self.down:
            raise ChainUnavailable("connection refused")
        if self.refuse:
            raise AnchorRejected(self.refuse)
        existing = self.anchors.setdefault(pending.log_id, [])
        if existing and existing[-1].size >= pending.size:  # as AnchorRegistry does
            raise AnchorRejected("AnchorRegistry: size must grow")
        self.sent += 1
        existing.append(AnchorOnChain(pending.size, pending.root, len(existing) + 1))
        return bytes([self.sent]) * 32, len(existing)


class FakeOutbox:
    def __init__(self, rows: list[PendingAnchor]) -> None:
        self.rows = {r.id: r for r in rows}
        self.finished: dict[int, Outcome] = {}
        self.attempts: dict[int, list[str]] = {}

    def pending(self, limit: int) -> list[PendingAnchor]:
        waiting = [r for r in self.rows.values() if r.id not in self.finished]
        return sorted(waiting, key=lambda r: (r.log_id, r.size))[:limit]

    def finish(self, row_id: int, outcome: Outcome, tx_hash: bytes | None, detail: str) -> None:
        assert row_id not in self.finished, "finished twice"
        self.finished[row_id] = outcome

    def record_attempt(self, row_id: int, error: str) -> None:
        self.attempts.setdefault(row_id, []).append(error)


def _row(row_id: int, size: int, log_id: bytes = LOG, root: bytes | None = None) -> PendingAnchor:
    return PendingAnchor(row_id, log_id, size, root or bytes([size]) * 32, b"\x00" * 8, 0)


def test_every_checkpoint_is_anchored_in_order_once() -> None:
    chain, outbox = FakeChain(), FakeOutbox([_row(1, 10), _row(2, 20), _row(3, 5, OTHER)])
    anchor_pending(outbox, chain)
    assert [a.size for a in chain.anchors[LOG]] == [10, 20]
    assert [a.size for a in chain.anchors[OTHER]] == [5]
    assert set(outbox.finished.values()) == {Outcome.ANCHORED}
    assert anchor_pending(outbox, chain) == []  # nothing left, nothing resent


def test_crash_after_sending_does_not_anchor_twice() -> None:
    chain = FakeChain()
    chain.anchor(_row(1, 10))  # mined, but the worker died before recording it
    outbox = FakeOutbox([_row(1, 10), _row(2, 20)])
    anchor_pending(outbox, chain)
    assert outbox.finished == {1: Outcome.ALREADY_ANCHORED, 2: Outcome.ANCHORED}
    assert [a.size for a in chain.anchors[LOG]] == [10, 20]


def test_outage_keeps_rows_pending_and_resumes() -> None:
    chain, outbox = FakeChain(), FakeOutbox([_row(1, 10), _row(2, 20)])
    chain.down = True
    with pytest.raises(ChainUnavailable):
        anchor_pending(outbox, chain)
    assert outbox.finished == {} and outbox.attempts[1] == ["connection refused"]
    chain.down = False
    anchor_pending(outbox, chain)
    assert [a.size for a in chain.anchors[LOG]] == [10, 20]


def test_same_size_with_another_root_is_a_fork_never_overwritten() -> None:
    chain = FakeChain()
    chain.anchor(_row(9, 10, root=b"\xee" * 32))
    outbox = FakeOutbox([_row(1, 10)])
    anchor_pending(outbox, chain)
    assert outbox.finished == {1: Outcome.FORK}
    assert chain.anchors[LOG][0].root == b"\xee" * 32


def test_a_refused_checkpoint_blocks_its_log_but_not_others() -> None:
    chain, outbox = FakeChain(), FakeOutbox([_row(1, 10), _row(2, 20), _row(3, 5, OTHER)])
    chain.refuse = "AnchorRegistry: log belongs to another owner"
    results = anchor_pending(outbox, chain)
    assert [(r.id, o) for r, o in results] == [(1, Outcome.REJECTED), (3, Outcome.REJECTED)]
    assert outbox.finished == {} and "another owner" in outbox.attempts[1][0]
    assert 2 not in outbox.attempts  # waited behind row 1: no gap
    chain.refuse = None
    anchor_pending(outbox, chain)
    assert [a.size for a in chain.anchors[LOG]] == [10, 20]


def test_superseded_when_the_chain_already_has_a_larger_checkpoint() -> None:
    chain = FakeChain()
    chain.anchor(_row(9, 30))
    outbox = FakeOutbox([_row(1, 10)])
    anchor_pending(outbox, chain)
    assert outbox.finished == {1: Outcome.SUPERSEDED}


@pytest.mark.parametrize(("failures", "seconds"), [(0, 0.5), (1, 0.5), (2, 1.0), (5, 8.0), (20, 30.0)])
def test_backoff_is_capped(failures: int, seconds: float) -> None:
    assert backoff_seconds(failures) == seconds
