"""The anchoring worker: moves signed checkpoints from the outbox onto the chain.

Appends and checkpoints are committed to the database together with an outbox row;
this worker anchors those rows on chain, in order per log, and is idempotent by
(log id, size): before sending it asks the chain what is already anchored, so a
crash between sending and recording never anchors twice, and the on-chain
AnchorRegistry refuses a size that does not grow anyway. A chain outage only
delays anchoring; nothing is dropped.

The rules are pure functions over the two ports; the asyncio loop is in run().
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

log = logging.getLogger("citychain.anchoring")


class ChainUnavailable(Exception):
    """The chain did not answer (node down, timeout): retry later."""


class AnchorRejected(Exception):
    """The chain refused the anchor (revert): retrying will not help."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AnchorOnChain:
    size: int
    root: bytes
    block_number: int


@dataclass(frozen=True)
class PendingAnchor:
    id: int
    log_id: bytes  # 32 bytes: the on-chain log id (derived from the log's origin)
    size: int
    root: bytes
    key_id: bytes  # 8 bytes (4-byte note key id, zero padded)
    cosignatures: int


class Outcome(Enum):
    ANCHORED = "anchored"  # we sent it and it was mined
    ALREADY_ANCHORED = "already_anchored"  # found on chain: a previous run sent it
    SUPERSEDED = "superseded"  # the chain already holds a larger checkpoint of this log
    FORK = "fork"  # the chain holds this size with ANOTHER root: an alarm, never overwritten
    REJECTED = "rejected"  # the contract refused it (e.g. not the log's owner): stays pending


class AnchorChain(Protocol):
    def latest_anchor(self, log_id: bytes) -> AnchorOnChain | None: ...

    def anchor_at_size(self, log_id: bytes, size: int) -> AnchorOnChain | None:
        """The anchored checkpoint of exactly this size, if any (None if none)."""
        ...

    def anchor(self, pending: PendingAnchor) -> tuple[bytes, int]:
        """Send the anchor transaction and wait until it is final: (tx hash, block)."""
        ...


class Outbox(Protocol):
    def pending(self, limit: int) -> Sequence[PendingAnchor]:
        """Unfinished rows, ordered by log then size."""
        ...

    def finish(self, row_id: int, outcome: Outcome, tx_hash: bytes | None, detail: str) -> None: ...

    def record_attempt(self, row_id: int, error: str) -> None: ...


def decide(pending: PendingAnchor, chain: AnchorChain) -> Outcome | None:
    """What the chain already says about ``pending``; None means: send it."""
    latest = chain.latest_anchor(pending.log_id)
    if latest is None or latest.size < pending.size:
        return None
    same_size = latest if latest.size == pending.size else chain.anchor_at_size(pending.log_id, pending.size)
    if same_size is None:
        return Outcome.SUPERSEDED
    return Outcome.ALREADY_ANCHORED if same_size.root == pending.root else Outcome.FORK


Cosign = Callable[[PendingAnchor], PendingAnchor]  # collects witness cosignatures first


def anchor_pending(
    outbox: Outbox, chain: AnchorChain, batch: int = 100, cosign: Cosign | None = None
) -> list[tuple[PendingAnchor, Outcome]]:
    """One pass over the outbox. Raises ChainUnavailable (after recording it) to back off."""
    done: list[tuple[PendingAnchor, Outcome]] = []
    blocked: set[bytes] = set()  # logs whose earlier checkpoint was refused: keep their order
    for pending in outbox.pending(batch):
        if pending.log_id in blocked:
            continue
        try:
            known = decide(pending, chain)
            if known is not None:
                if known is Outcome.FORK:
                    log.error("log %s: the chain holds size %d with another root: split view",
                              pending.log_id.hex(), pending.size)
                outbox.finish(pending.id, known, None, known.value)
                done.append((pending, known))
                continue
            if cosign is not None:
                pending = cosign(pending)
            tx_hash, block = chain.anchor(pending)
        except ChainUnavailable as exc:
            outbox.record_attempt(pending.id, str(exc))
            raise
        except AnchorRejected as exc:
            # Kept pending, and the log's later checkpoints wait behind it: anchoring them
            # would leave a gap. An operator fixes the cause (e.g. the log's owner account).
            log.error("anchor of log %s size %d refused: %s", pending.log_id.hex(), pending.size, exc.reason)
            outbox.record_attempt(pending.id, f"rejected: {exc.reason}")
            blocked.add(pending.log_id)
            done.append((pending, Outcome.REJECTED))
            continue
        outbox.finish(pending.id, Outcome.ANCHORED, tx_hash, f"block {block}")
        done.append((pending, Outcome.ANCHORED))
    return done


def backoff_seconds(failures: int, base: float = 0.5, cap: float = 30.0) -> float:
    return min(cap, base * (2 ** max(0, failures - 1)))
