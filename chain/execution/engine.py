"""py-evm behind one small port: execute a block's transactions, read state, call.

Every block is executed with one batched ``apply_all_transactions`` on a fresh VM
whose database is an overlay (see statedb); the caller commits the overlay's
changes together with the block, so a crash never leaves half a block on disk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from eth.abc import ComputationAPI, ReceiptAPI, SignedTransactionAPI
from eth.consensus.context import ConsensusContext
from eth.constants import BLANK_ROOT_HASH, EMPTY_UNCLE_HASH
from eth.db.atomic import AtomicDB
from eth.exceptions import Revert
from eth.vm.chain_context import ChainContext
from eth.vm.forks.cancun import CancunVM
from eth.vm.forks.cancun.blocks import CancunBlock, CancunBlockHeader
from eth.vm.forks.cancun.transactions import CancunTransactionBuilder
from eth.vm.spoof import SpoofTransaction
from eth_utils import ValidationError

from chain.errors import ExecutionFailed, ExecutionReverted, InvalidParams
from chain.execution.revert import decode_revert_reason
from chain.execution.statedb import KeyValueReader, OverlayDB
from chain.execution.transactions import DecodedTransaction
from chain.execution.trie_root import ordered_trie_root
from chain.types import CallRequest

# Calls and estimates never run with more gas than this, whatever the caller asks.
CALL_GAS_CAP = 50_000_000


class CityVM(CancunVM):
    """Cancun with the previous block hashes supplied by our block store.

    Header rules are checked by ``chain.node.validation``, not here: QBFT
    extraData is longer than the 32 bytes py-evm's mainnet rules allow.
    """

    _supplied_prev_hashes: Iterable[bytes] = ()

    @property
    def previous_hashes(self) -> Any:
        # py-evm wraps this in a CachedIterable: a lazy source is read only as far
        # as BLOCKHASH asks, so most calls never touch the block index.
        return iter(self._supplied_prev_hashes)


class _ChainDBShim:
    """The one attribute of a ChainDB that a VM uses when we drive it directly."""

    def __init__(self, db: AtomicDB) -> None:
        self.db = db


@dataclass(frozen=True)
class ExecutedTransaction:
    transaction: DecodedTransaction
    receipt: ReceiptAPI
    gas_used: int
    effective_gas_price: int
    contract_address: bytes | None


@dataclass(frozen=True)
class ExecutionOutcome:
    header: CancunBlockHeader
    executed: tuple[ExecutedTransaction, ...]
    state_changes: dict[bytes, bytes | None]


class TransactionInvalidInBlock(Exception):
    """Transaction ``index`` of a batch cannot be applied (nonce, balance...)."""

    def __init__(self, index: int, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.message = message


def new_vm(
    header: CancunBlockHeader,
    base: KeyValueReader,
    chain_id: int,
    prev_hashes: Iterable[bytes] = (),
) -> tuple[CityVM, OverlayDB]:
    overlay = OverlayDB(base)
    atomic = AtomicDB(overlay)
    vm = CityVM(
        header=header,
        chaindb=_ChainDBShim(atomic),  # type: ignore[arg-type]
        chain_context=ChainContext(chain_id),
        consensus_context=ConsensusContext(atomic),
    )
    vm._supplied_prev_hashes = prev_hashes
    return vm, overlay


def execute_transactions(
    header: CancunBlockHeader,
    transactions: Sequence[DecodedTransaction],
    base: KeyValueReader,
    chain_id: int,
    prev_hashes: Iterable[bytes],
) -> ExecutionOutcome:
    """Execute ``transactions`` on the state at ``header.state_root`` (the parent's).

    ``header`` carries the new block's context (number, coinbase, timestamp, gas
    limit, base fee); its state root is the parent's. Returns the header with
    state, transaction and receipt roots, bloom and gas used filled in.
    Raises TransactionInvalidInBlock naming the first transaction that cannot
    be applied; nothing is written anywhere in that case.
    """
    vm, overlay = new_vm(header, base, chain_id, prev_hashes)
    vm.block_preprocessing(CancunBlock(header, transactions=[], uncles=[], withdrawals=[]))
    applied = 0

    def count_applied(*_args: Any) -> None:
        nonlocal applied
        applied += 1

    vm.transaction_applied_hook = count_applied  # type: ignore[method-assign,assignment]
    txs = [t.tx for t in transactions]
    try:
        result_header, receipts, computations = vm.apply_all_transactions(txs, header)
    except ValidationError as exc:
        raise TransactionInvalidInBlock(applied, str(exc)) from exc
    vm.state.persist()
    state_root = vm.state.state_root

    executed = []
    previous_cumulative = 0
    base_fee = header.base_fee_per_gas or 0
    for decoded, receipt, computation in zip(transactions, receipts, computations, strict=True):
        gas_used = receipt.gas_used - previous_cumulative
        previous_cumulative = receipt.gas_used
        executed.append(
            ExecutedTransaction(
                transaction=decoded,
                receipt=receipt,
                gas_used=gas_used,
                effective_gas_price=min(decoded.fee_cap, decoded.tip_cap + base_fee),
                contract_address=_created_address(decoded, computation),
            )
        )
    tx_root = ordered_trie_root([tx.encode() for tx in txs])
    receipt_root = ordered_trie_root([receipt.encode() for receipt in receipts])
    final = result_header.copy(
        state_root=state_root,
        transaction_root=tx_root,
        receipt_root=receipt_root,
        withdrawals_root=BLANK_ROOT_HASH,
        uncles_hash=EMPTY_UNCLE_HASH,
    )
    return ExecutionOutcome(header=final, executed=tuple(executed), state_changes=overlay.changes)


def _created_address(decoded: DecodedTransaction, computation: ComputationAPI) -> bytes | None:
    if decoded.to is not None:
        return None
    from eth._utils.address import generate_contract_address

    return bytes(generate_contract_address(decoded.sender, decoded.nonce))


# --- state reads -----------------------------------------------------------------


def _state_for(header: CancunBlockHeader, base: KeyValueReader, chain_id: int) -> Any:
    vm, _ = new_vm(header, base, chain_id)
    return vm.state


def get_balance(header: CancunBlockHeader, base: KeyValueReader, address: bytes) -> int:
    return int(_state_for(header, base, 0).get_balance(address))


def get_nonce(header: CancunBlockHeader, base: KeyValueReader, address: bytes) -> int:
    return int(_state_for(header, base, 0).get_nonce(address))


def get_code(header: CancunBlockHeader, base: KeyValueReader, address: bytes) -> bytes:
    return bytes(_state_for(header, base, 0).get_code(address))


def get_storage(header: CancunBlockHeader, base: KeyValueReader, address: bytes, slot: int) -> int:
    return int(_state_for(header, base, 0).get_storage(address, slot))


class AccountReader:
    """Reads many accounts from one state root without rebuilding the VM each time."""

    def __init__(self, header: CancunBlockHeader, base: KeyValueReader) -> None:
        self._state = _state_for(header, base, 0)

    def nonce(self, address: bytes) -> int:
        return int(self._state.get_nonce(address))

    def balance(self, address: bytes) -> int:
        return int(self._state.get_balance(address))

    def storage(self, address: bytes, slot: int) -> int:
        return int(self._state.get_storage(address, slot))


# --- calls -----------------------------------------------------------------------


def _spoof(request: CallRequest, state: Any, gas: int) -> SignedTransactionAPI:
    sender = request.sender or b"\x00" * 20
    unsigned = CancunTransactionBuilder.create_unsigned_transaction(
        nonce=state.get_nonce(sender),
        gas_price=0,
        gas=gas,
        to=request.to or b"",
        value=request.value,
        data=request.data,
    )
    return SpoofTransaction(unsigned, from_=sender)  # type: ignore[return-value]


def _check_call(request: CallRequest, header: CancunBlockHeader) -> int:
    gas = request.gas if request.gas is not None else min(header.gas_limit, CALL_GAS_CAP)
    if gas > CALL_GAS_CAP:
        raise InvalidParams(f"gas {gas} exceeds the call gas cap {CALL_GAS_CAP}")
    return gas


def _raise_for(computation: ComputationAPI) -> None:
    if not computation.is_error:
        return
    error = computation.error
    if isinstance(error, Revert):
        data = bytes(computation.output)
        raise ExecutionReverted(data, decode_revert_reason(data))
    raise ExecutionFailed(f"execution failed: {type(error).__name__} {error}".strip())


def call(
    request: CallRequest,
    header: CancunBlockHeader,
    base: KeyValueReader,
    chain_id: int,
    prev_hashes: Iterable[bytes] = (),
) -> bytes:
    """Run a message call on the state of ``header`` and discard every change."""
    gas = _check_call(request, header)
    vm, _ = new_vm(header, base, chain_id, prev_hashes)
    state = vm.state
    tx = _spoof(request, state, gas)
    try:
        computation = state.costless_execute_transaction(tx)
    except ValidationError as exc:
        raise ExecutionFailed(f"call is invalid: {exc}") from exc
    _raise_for(computation)
    return bytes(computation.output)


def estimate_gas(
    request: CallRequest,
    header: CancunBlockHeader,
    base: KeyValueReader,
    chain_id: int,
    prev_hashes: Iterable[bytes] = (),
) -> int:
    """Smallest gas limit (binary search) with which the call neither fails nor runs out."""
    cap = _check_call(request, header)
    vm, _ = new_vm(header, base, chain_id, prev_hashes)
    state = vm.state

    def attempt(gas: int) -> ComputationAPI:
        snapshot = state.snapshot()
        try:
            return state.costless_execute_transaction(_spoof(request, state, gas))
        except ValidationError as exc:
            raise ExecutionFailed(f"transaction is invalid: {exc}") from exc
        finally:
            state.revert(snapshot)

    _raise_for(attempt(cap))
    intrinsic = _spoof(request, state, cap).intrinsic_gas
    low, high = intrinsic - 1, cap
    while high - low > 1:
        mid = (low + high) // 2
        computation = attempt(mid)
        if not computation.is_error:
            high = mid
        else:
            low = mid
    return high
