"""One small error hierarchy for the node.

Errors a caller can cause carry a message saying what was wrong and what to do;
``chain.rpc`` maps each type to a JSON-RPC code in one place.
"""

from __future__ import annotations


class ChainError(Exception):
    """Base of every error the node raises on purpose."""


class InvalidParams(ChainError):
    """A request parameter is malformed or out of range (JSON-RPC -32602)."""


class NotFound(ChainError):
    """A block, transaction or state the caller named does not exist here."""


class LimitExceeded(ChainError):
    """A request asks for more than the node serves at once (-32005)."""


class TransactionRejected(ChainError):
    """A transaction refused at admission. ``reason`` is a stable code.

    Reasons: invalid_rlp, invalid_signature, wrong_chain_id, unsupported_type,
    nonce_too_low, nonce_too_high, gas_limit_exceeded, intrinsic_gas_too_low,
    insufficient_funds, fee_too_low, replacement_underpriced, pool_full,
    sender_pool_full, not_permitted, already_known, oversized, invalid_fields.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class ExecutionReverted(ChainError):
    """An eth_call or gas estimate reverted (JSON-RPC code 3 with data)."""

    def __init__(self, data: bytes, reason: str | None) -> None:
        self.data = data
        self.reason = reason
        super().__init__(
            f"execution reverted: {reason}" if reason else "execution reverted"
        )


class ExecutionFailed(ChainError):
    """An eth_call failed without a revert (out of gas, invalid opcode...)."""


class InvalidBlock(ChainError):
    """A block failed validation on import; the node's state is unchanged."""


class StorageCorrupted(ChainError):
    """The data directory does not hold what the node wrote (wrong genesis, damage)."""
