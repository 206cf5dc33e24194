"""The transaction pool: pure admission, eviction and block-selection rules."""

from chain.txpool.config import PoolConfig
from chain.txpool.pool import PoolStats, PoolTransaction, StateNonceOf, TransactionPool

__all__ = ["PoolConfig", "PoolStats", "PoolTransaction", "StateNonceOf", "TransactionPool"]
