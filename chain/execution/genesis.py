"""Building the genesis state and header, and running constructors for predeploys."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eth.constants import BLANK_ROOT_HASH
from eth.vm.forks.cancun.blocks import CancunBlockHeader

from chain.consensus.block_encoding import MIX_HASH
from chain.execution.blocks import qbft_header
from chain.execution.engine import new_vm
from chain.execution.statedb import KeyValueReader, MemoryKV
from chain.genesis import GenesisSpec

ZERO_HASH = b"\x00" * 32


@dataclass(frozen=True)
class GenesisBuild:
    header: CancunBlockHeader
    state_changes: dict[bytes, bytes | None]


def _template(spec: GenesisSpec) -> CancunBlockHeader:
    return qbft_header(
        number=0, parent_hash=ZERO_HASH, coinbase=b"\x00" * 20, timestamp=spec.timestamp,
        gas_limit=spec.gas_limit, extra_data=spec.extra_data, state_root=BLANK_ROOT_HASH,
    )


def build_genesis(spec: GenesisSpec, base: KeyValueReader | None = None) -> GenesisBuild:
    template = _template(spec)
    vm, overlay = new_vm(template, base or MemoryKV(), spec.chain_id)
    state = vm.state
    for address, account in spec.alloc.items():
        state.set_balance(address, account.balance)
        state.set_nonce(address, account.nonce)
        if account.code:
            state.set_code(address, account.code)
        for slot, value in account.storage.items():
            state.set_storage(address, slot, value)
    state.persist()
    header = template.copy(state_root=state.state_root)
    return GenesisBuild(header=header, state_changes=overlay.changes)


@dataclass(frozen=True)
class Predeploy:
    runtime_code: bytes
    storage: dict[int, int]


def run_constructor(
    creation_code: bytes,
    address: bytes,
    deployer: bytes,
    calls: Sequence[tuple[bytes, bytes]] = (),
    chain_id: int = 1,
) -> Predeploy:
    """Run ``creation_code`` (ABI-encoded constructor arguments appended) as if
    deployed at ``address``, then each ``(sender, calldata)`` call against it; return
    the runtime code and every storage slot that ends non-zero.

    This is how a system contract enters genesis through its normal constructor and
    its own access-controlled functions, so genesis state is exactly what the
    contract's code allows.
    """
    template = CancunBlockHeader(
        difficulty=1, block_number=0, gas_limit=100_000_000, timestamp=0, mix_hash=MIX_HASH
    )
    vm, _ = new_vm(template, MemoryKV(), chain_id)
    state = vm.state
    target = address
    written: set[int] = set()
    original_set_storage = state.set_storage

    def recording_set_storage(address: bytes, slot: int, value: int) -> None:
        if address == target:
            written.add(slot)
        original_set_storage(address, slot, value)

    state.set_storage = recording_set_storage  # SSTORE calls state.set_storage
    computation = vm.execute_bytecode(
        origin=deployer, gas_price=0, gas=100_000_000, to=address, sender=deployer,
        value=0, data=b"", code=creation_code,
    )
    if computation.is_error:
        raise ValueError(f"constructor failed: {computation.error!r}")
    runtime = bytes(computation.output)
    state.set_code(address, runtime)
    for sender, calldata in calls:
        result = vm.execute_bytecode(
            origin=sender, gas_price=0, gas=10_000_000, to=address, sender=sender,
            value=0, data=calldata, code=runtime,
        )
        if result.is_error:
            raise ValueError(f"genesis call {calldata[:4].hex()} failed: {result.error!r}")
    storage = {slot: int(state.get_storage(address, slot)) for slot in sorted(written)}
    return Predeploy(
        runtime_code=runtime,
        storage={slot: value for slot, value in storage.items() if value != 0},
    )
