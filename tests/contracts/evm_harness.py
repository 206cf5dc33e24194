"""An in-memory Cancun chain on py-evm for testing the system contracts.

Each transaction is mined in its own block, so a test reads like a sequence of
signed transactions and their receipts. Contracts are driven through their ABI
with eth-abi; no web3 and no network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eth import constants
from eth._utils.address import generate_contract_address
from eth.chains.base import MiningChain
from eth.db.atomic import AtomicDB
from eth.vm.forks.cancun import CancunVM
from eth.vm.spoof import SpoofTransaction
from eth_abi import decode, encode
from eth_keys import keys
from eth_utils import (
    collapse_if_tuple,
    event_abi_to_log_topic,
    function_abi_to_4byte_selector,
    keccak,
    to_canonical_address,
)

from contracts.artifacts import Artifact

CHAIN_ID = 1337
GAS_PRICE = 10 * 10**9
TX_GAS = 3_000_000
INITIAL_BALANCE = 10**24
ERROR_STRING_SELECTOR = keccak(text="Error(string)")[:4]


@dataclass(frozen=True)
class TestAccount:
    __test__ = False  # not a pytest test class

    label: str
    private_key: keys.PrivateKey

    @property
    def address(self) -> bytes:
        return self.private_key.public_key.to_canonical_address()

    @classmethod
    def from_label(cls, label: str) -> TestAccount:
        """A deterministic key per label, so failures reproduce."""
        return cls(label, keys.PrivateKey(keccak(text=f"citychain test account {label}")))


@dataclass(frozen=True)
class DecodedEvent:
    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class TxResult:
    success: bool
    return_data: bytes
    logs: tuple[tuple[bytes, tuple[int, ...], bytes], ...]  # (address, topics, data)
    contract_address: bytes | None = None


class CallReverted(Exception):
    def __init__(self, return_data: bytes) -> None:
        self.return_data = return_data
        super().__init__(f"call reverted: {decode_revert_reason(return_data)!r}")


def decode_revert_reason(return_data: bytes) -> str | None:
    """The string of a `require(..., "reason")` revert, None for anything else."""
    if return_data[:4] != ERROR_STRING_SELECTOR:
        return None
    (reason,) = decode(["string"], return_data[4:])
    return reason


def _types(inputs: Sequence[dict[str, Any]]) -> list[str]:
    return [collapse_if_tuple(item) for item in inputs]


def _decode(inputs: Sequence[dict[str, Any]], data: bytes) -> tuple[Any, ...]:
    return tuple(
        _canonical_addresses(item["type"], value)
        for item, value in zip(inputs, decode(_types(inputs), data), strict=True)
    )


def _canonical_addresses(abi_type: str, value: Any) -> Any:
    """eth-abi decodes addresses as hex strings; turn them into 20-byte values."""
    if abi_type == "address":
        return to_canonical_address(value)
    if abi_type.startswith("address["):
        return tuple(_canonical_addresses(abi_type[: abi_type.rindex("[")], v) for v in value)
    return value


class Contract:
    """A deployed contract driven through its ABI: `call` for views, `transact` for changes.

    Addresses in decoded values are canonical 20-byte `bytes`, like everywhere else here.
    """

    def __init__(self, harness: EvmHarness, artifact: Artifact, address: bytes) -> None:
        self.harness = harness
        self.artifact = artifact
        self.address = address
        self._functions = {e["name"]: e for e in artifact.abi if e["type"] == "function"}
        self._events = {event_abi_to_log_topic(e): e for e in artifact.abi if e["type"] == "event"}
        self._errors = {
            function_abi_to_4byte_selector(e): e for e in artifact.abi if e["type"] == "error"
        }

    def call(self, function: str, *args: Any) -> Any:
        output = self.harness.call(self.address, self.encode_call(function, *args))
        return self.decode_output(function, output)

    def transact(self, sender: TestAccount, function: str, *args: Any) -> TxResult:
        return self.harness.transact(sender, self.address, self.encode_call(function, *args))

    def encode_call(self, function: str, *args: Any) -> bytes:
        abi = self._functions[function]
        return function_abi_to_4byte_selector(abi) + encode(_types(abi["inputs"]), list(args))

    def decode_output(self, function: str, data: bytes) -> Any:
        values = _decode(self._functions[function]["outputs"], data)
        return values[0] if len(values) == 1 else values

    def decode_events(self, result: TxResult) -> list[DecodedEvent]:
        return [self._decode_event(topics, data) for _, topics, data in result.logs]

    def decode_custom_error(self, return_data: bytes) -> tuple[str, tuple[Any, ...]]:
        abi = self._errors[return_data[:4]]
        return abi["name"], _decode(abi["inputs"], return_data[4:])

    def _decode_event(self, topics: tuple[int, ...], data: bytes) -> DecodedEvent:
        abi = self._events[topics[0].to_bytes(32, "big")]
        indexed = [i for i in abi["inputs"] if i["indexed"]]
        plain = [i for i in abi["inputs"] if not i["indexed"]]
        args = {
            item["name"]: _decode([item], topic.to_bytes(32, "big"))[0]
            for item, topic in zip(indexed, topics[1:], strict=True)
        }
        args.update(zip([i["name"] for i in plain], _decode(plain, data), strict=True))
        return DecodedEvent(abi["name"], args)


class EvmHarness:
    """A fresh Cancun chain whose genesis funds `accounts`."""

    def __init__(self, accounts: Sequence[TestAccount]) -> None:
        chain_class = MiningChain.configure(
            __name__="CitychainTestChain",
            vm_configuration=((constants.GENESIS_BLOCK_NUMBER, CancunVM),),
            chain_id=CHAIN_ID,
        )
        genesis_state = {
            account.address: {"balance": INITIAL_BALANCE, "nonce": 0, "code": b"", "storage": {}}
            for account in accounts
        }
        genesis_params = {
            "difficulty": 0,
            "gas_limit": 30_000_000,
            "timestamp": 1_700_000_000,
            "coinbase": constants.ZERO_ADDRESS,
        }
        self.chain = chain_class.from_genesis(AtomicDB(), genesis_params, genesis_state)

    def deploy(self, sender: TestAccount, artifact: Artifact, *ctor: tuple[str, Any]) -> TxResult:
        """Deploy with constructor arguments given as (abi_type, value) pairs."""
        args = encode([t for t, _ in ctor], [v for _, v in ctor]) if ctor else b""
        nonce = self.nonce(sender.address)
        result = self.transact(sender, constants.CREATE_CONTRACT_ADDRESS, artifact.bytecode + args)
        address = generate_contract_address(sender.address, nonce) if result.success else None
        return TxResult(result.success, result.return_data, result.logs, address)

    def deploy_contract(
        self, sender: TestAccount, artifact: Artifact, *ctor: tuple[str, Any]
    ) -> tuple[Contract, TxResult]:
        """Deploy and return the contract; fails loudly if the constructor reverted."""
        result = self.deploy(sender, artifact, *ctor)
        if result.contract_address is None:
            raise AssertionError(
                f"deploying {artifact.name} reverted: {decode_revert_reason(result.return_data)!r}"
            )
        return Contract(self, artifact, result.contract_address), result

    def transact(self, sender: TestAccount, to: bytes, data: bytes, value: int = 0) -> TxResult:
        vm = self.chain.get_vm()
        tx = vm.create_unsigned_transaction(
            nonce=self.nonce(sender.address),
            gas_price=GAS_PRICE,
            gas=TX_GAS,
            to=to,
            value=value,
            data=data,
        ).as_signed_transaction(sender.private_key, chain_id=CHAIN_ID)
        _, receipts, computations = self.chain.mine_all([tx])
        computation = computations[0]
        return TxResult(
            success=not computation.is_error,
            return_data=computation.output,
            logs=tuple((log.address, tuple(log.topics), log.data) for log in receipts[0].logs),
        )

    def call(self, to: bytes, data: bytes, sender: bytes = constants.ZERO_ADDRESS) -> bytes:
        """Execute without a transaction, at the latest block, like eth_call."""
        head = self.chain.get_canonical_head()
        vm = self.chain.get_vm(head)
        unsigned = vm.create_unsigned_transaction(
            nonce=vm.state.get_nonce(sender), gas_price=0, gas=TX_GAS, to=to, value=0, data=data
        )
        with vm.in_costless_state() as state:
            computation = state.costless_execute_transaction(
                SpoofTransaction(unsigned, from_=sender)
            )
        if computation.is_error:
            raise CallReverted(computation.output)
        return computation.output

    def nonce(self, address: bytes) -> int:
        return self.chain.get_vm().state.get_nonce(address)

    def code_at(self, address: bytes) -> bytes:
        return self.chain.get_vm().state.get_code(address)

    def storage_at(self, address: bytes, slot: int) -> int:
        return self.chain.get_vm().state.get_storage(address, slot)
