"""Decoding and stateless validation of signed transactions (legacy, 2930, 1559)."""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from eth.abc import SignedTransactionAPI
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth_utils import ValidationError

from chain.errors import TransactionRejected
from chain.types import AccessListEntry, TransactionView

SUPPORTED_TYPES = (0, 1, 2)
MAX_TRANSACTION_BYTES = 128 * 1024


@dataclass(frozen=True)
class DecodedTransaction:
    """A signed transaction with its sender recovered and its raw bytes kept."""

    tx: SignedTransactionAPI
    raw: bytes
    hash: bytes
    sender: bytes
    type: int

    @property
    def nonce(self) -> int:
        return int(self.tx.nonce)

    @property
    def gas(self) -> int:
        return int(self.tx.gas)

    @property
    def fee_cap(self) -> int:
        return int(self.tx.max_fee_per_gas)

    @property
    def tip_cap(self) -> int:
        return int(self.tx.max_priority_fee_per_gas)

    @property
    def value(self) -> int:
        return int(self.tx.value)

    @property
    def to(self) -> bytes | None:
        return bytes(self.tx.to) or None

    @property
    def intrinsic_gas(self) -> int:
        return int(self.tx.intrinsic_gas)


def transaction_type_of(raw: bytes) -> int:
    if not raw:
        raise TransactionRejected("invalid_rlp", "empty transaction bytes")
    first = raw[0]
    if first >= 0xC0:
        return 0
    if first <= 0x7F:
        return first
    raise TransactionRejected("invalid_rlp", "transaction is neither a list nor typed envelope")


def decode_transaction(raw: bytes, chain_id: int) -> DecodedTransaction:
    """Decode and check what can be checked without state.

    Raises TransactionRejected with reason invalid_rlp, unsupported_type,
    invalid_signature, wrong_chain_id or oversized.
    """
    if len(raw) > MAX_TRANSACTION_BYTES:
        raise TransactionRejected(
            "oversized", f"transaction is {len(raw)} bytes; the limit is {MAX_TRANSACTION_BYTES}"
        )
    tx_type = transaction_type_of(raw)
    if tx_type not in SUPPORTED_TYPES:
        raise TransactionRejected(
            "unsupported_type",
            f"transaction type {tx_type} is not supported; use 0 (legacy), 1 (EIP-2930) or 2 (EIP-1559)",
        )
    try:
        tx = CancunTransactionBuilder.decode(raw)
    except (rlp.DecodingError, rlp.DeserializationError, ValidationError, ValueError, TypeError) as exc:
        raise TransactionRejected("invalid_rlp", f"transaction bytes do not decode: {exc}") from exc
    try:
        tx.check_signature_validity()
        sender = bytes(tx.sender)
    except (ValidationError, ValueError, TypeError) as exc:
        raise TransactionRejected("invalid_signature", f"invalid transaction signature: {exc}") from exc
    if tx.gas < tx.intrinsic_gas:
        raise TransactionRejected(
            "intrinsic_gas_too_low",
            f"gas {tx.gas} is below the intrinsic gas {tx.intrinsic_gas} of this transaction",
        )
    try:
        tx.validate()
    except (ValidationError, ValueError, TypeError) as exc:
        raise TransactionRejected("invalid_fields", f"transaction fields are invalid: {exc}") from exc
    tx_chain_id = tx.chain_id
    if tx_chain_id is None:
        raise TransactionRejected(
            "wrong_chain_id",
            f"unprotected legacy transaction (no EIP-155 chain id); sign it for chain id {chain_id}",
        )
    if tx_chain_id != chain_id:
        raise TransactionRejected(
            "wrong_chain_id", f"transaction is for chain id {tx_chain_id}; this chain is {chain_id}"
        )
    return DecodedTransaction(tx=tx, raw=bytes(raw), hash=bytes(tx.hash), sender=sender, type=tx_type)


def to_view(
    decoded: DecodedTransaction,
    *,
    block_hash: bytes | None = None,
    block_number: int | None = None,
    transaction_index: int | None = None,
    base_fee: int = 0,
) -> TransactionView:
    tx = decoded.tx
    if decoded.type == 2:
        gas_price = min(decoded.fee_cap, decoded.tip_cap + base_fee)
        max_fee: int | None = decoded.fee_cap
        max_tip: int | None = decoded.tip_cap
    else:
        gas_price = int(tx.gas_price)
        max_fee = max_tip = None
    access_list: tuple[AccessListEntry, ...] = ()
    if decoded.type in (1, 2):
        access_list = tuple(
            AccessListEntry(
                address=bytes(entry[0]),
                storage_keys=tuple(int(k).to_bytes(32, "big") for k in entry[1]),
            )
            for entry in tx.access_list
        )
        v = int(tx.y_parity)
    else:
        v = int(tx.v)
    return TransactionView(
        hash=decoded.hash,
        type=decoded.type,
        nonce=decoded.nonce,
        sender=decoded.sender,
        to=decoded.to,
        value=decoded.value,
        gas=decoded.gas,
        data=bytes(tx.data),
        v=v,
        r=int(tx.r),
        s=int(tx.s),
        chain_id=tx.chain_id,
        gas_price=gas_price,
        max_fee_per_gas=max_fee,
        max_priority_fee_per_gas=max_tip,
        access_list=access_list,
        block_hash=block_hash,
        block_number=block_number,
        transaction_index=transaction_index,
    )
