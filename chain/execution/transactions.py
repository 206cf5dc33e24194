"""Decoding and stateless validation of signed transactions (legacy, 2930, 1559)."""

from __future__ import annotations

from dataclasses import dataclass

import rlp
from coincurve import PublicKey
from eth.abc import SignedTransactionAPI
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth_utils import ValidationError, keccak

from chain.errors import TransactionRejected
from chain.types import AccessListEntry, TransactionView

SUPPORTED_TYPES = (0, 1, 2)
MAX_TRANSACTION_BYTES = 128 * 1024
UINT256_MAX = 2**256 - 1
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


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
    _validate_fields(tx, tx_type)
    sender = recover_sender(tx, tx_type)
    _prime_sender(tx, sender)
    if tx.gas < tx.intrinsic_gas:
        raise TransactionRejected(
            "intrinsic_gas_too_low",
            f"gas {tx.gas} is below the intrinsic gas {tx.intrinsic_gas} of this transaction",
        )
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


def _validate_fields(tx: SignedTransactionAPI, tx_type: int) -> None:
    """What py-evm's ``validate()`` checks, minus its repeated signature checks."""
    numbers = [("nonce", tx.nonce), ("gas", tx.gas), ("value", tx.value)]
    if tx_type == 2:
        numbers += [("maxFeePerGas", tx.max_fee_per_gas), ("maxPriorityFeePerGas", tx.max_priority_fee_per_gas)]
    else:
        numbers.append(("gasPrice", tx.gas_price))
    if tx_type in (1, 2):
        numbers.append(("chainId", tx.chain_id))
    for name, value in numbers:
        if not 0 <= value <= UINT256_MAX:
            raise TransactionRejected("invalid_fields", f"transaction {name} is out of range")
    if tx.nonce >= 2**64 - 1:
        raise TransactionRejected("invalid_fields", "transaction nonce is out of range (EIP-2681)")
    if tx_type == 2 and tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
        raise TransactionRejected(
            "invalid_fields", "maxPriorityFeePerGas is above maxFeePerGas; lower the tip or raise the fee cap"
        )
    if tx_type in (1, 2):
        for entry in tx.access_list:
            if len(entry[0]) != 20 or any(not 0 <= slot <= UINT256_MAX for slot in entry[1]):
                raise TransactionRejected("invalid_fields", "access list entry is malformed")


def _prime_sender(tx: SignedTransactionAPI, sender: bytes) -> None:
    """Fill py-evm's cached ``sender`` with the address we just recovered and checked,
    so execution does not recover the same signature again."""
    for target in (tx, getattr(tx, "_inner", None)):  # typed transactions proxy to _inner
        if target is not None:
            target.__dict__["sender"] = sender


def recover_sender(tx: SignedTransactionAPI, tx_type: int) -> bytes:
    """One secp256k1 recovery (coincurve), with the EIP-2 low-s rule.

    py-evm would check the signature three times and recover it once more for
    ``sender``; doing it once here keeps block import near raw execution speed.
    """
    r, s = int(tx.r), int(tx.s)
    if tx_type == 0:
        v = int(tx.v)  # type: ignore[attr-defined]
        if v in (27, 28):
            parity = v - 27
        elif v >= 35:
            parity = (v - 35) % 2
        else:
            raise TransactionRejected("invalid_signature", f"invalid transaction signature: v={v}")
    else:
        parity = int(tx.y_parity)
        if parity not in (0, 1):
            raise TransactionRejected("invalid_signature", "invalid transaction signature: yParity must be 0 or 1")
    if not (1 <= r < SECP256K1_N and 1 <= s <= SECP256K1_N // 2):
        raise TransactionRejected(
            "invalid_signature", "invalid transaction signature: r or s out of range (EIP-2 requires low s)"
        )
    digest = keccak(tx.get_message_for_signing())
    try:
        public = PublicKey.from_signature_and_message(
            r.to_bytes(32, "big") + s.to_bytes(32, "big") + bytes([parity]), digest, hasher=None
        )
    except Exception as exc:
        raise TransactionRejected("invalid_signature", f"invalid transaction signature: {exc}") from exc
    return keccak(public.format(compressed=False)[1:])[12:]


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
        v = int(tx.v)  # type: ignore[attr-defined]
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
