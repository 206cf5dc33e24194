"""Limits and prices of the transaction pool."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PoolConfig:
    """How much the pool holds and what it takes to get in or replace a transaction.

    ``max_nonce_gap`` is how many missing nonces may lie between a sender's
    contiguous run and a new transaction: with the run ending before nonce ``p``,
    the highest acceptable nonce is ``p + max_nonce_gap`` (0 admits no gap at all).
    """

    max_transactions: int = 10_000
    max_per_sender: int = 64
    max_nonce_gap: int = 64
    price_bump_percent: int = 10
    min_tip: int = 0
    lifetime_seconds: float = 3 * 3600

    def __post_init__(self) -> None:
        if self.max_transactions < 1:
            raise ValueError(f"max_transactions must be at least 1, got {self.max_transactions}")
        if self.max_per_sender < 1:
            raise ValueError(f"max_per_sender must be at least 1, got {self.max_per_sender}")
        for name in ("max_nonce_gap", "price_bump_percent", "min_tip"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)}")
        if self.lifetime_seconds <= 0:
            raise ValueError(f"lifetime_seconds must be positive, got {self.lifetime_seconds}")
