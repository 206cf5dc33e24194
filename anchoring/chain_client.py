"""The one web3.py adapter: AnchorRegistry reads and anchor transactions.

Contract addresses come from the CityRegistry named in genesis, so a service
needs only the RPC URL, its account key and that one address.
"""

from __future__ import annotations

from typing import Any

import requests
from eth_account import Account
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception
from web3.middleware import ExtraDataToPOAMiddleware

from anchoring.worker import (
    AnchorChain,
    AnchorOnChain,
    AnchorRejected,
    ChainUnavailable,
    PendingAnchor,
)
from contracts.artifacts import load_artifact


def registry_name(name: str) -> bytes:
    return name.encode("ascii").ljust(32, b"\0")


class Web3AnchorChain(AnchorChain):
    def __init__(
        self, rpc_url: str, private_key: bytes, city_registry: bytes, *, receipt_timeout: float = 60.0
    ) -> None:
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self.account = Account.from_key(private_key)
        self.receipt_timeout = receipt_timeout
        self._city_registry = Web3.to_checksum_address(city_registry)
        self._contract: Any = None

    def _registry(self) -> Any:
        if self._contract is None:
            city = self.w3.eth.contract(address=self._city_registry, abi=load_artifact("CityRegistry").abi)
            address = self._call(lambda: city.functions.addressOf(registry_name("AnchorRegistry")).call())
            self._contract = self.w3.eth.contract(address=address, abi=load_artifact("AnchorRegistry").abi)
        return self._contract

    @staticmethod
    def _call(function: Any) -> Any:
        try:
            return function()
        except ContractLogicError as exc:
            raise AnchorRejected(str(exc.message or exc)) from exc
        except (requests.RequestException, ConnectionError, OSError, TimeExhausted, Web3Exception) as exc:
            raise ChainUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def latest_anchor(self, log_id: bytes) -> AnchorOnChain | None:
        size, root, _key, _cos, _at, block = self._call(lambda: self._registry().functions.latest(log_id).call())
        return None if size == 0 else AnchorOnChain(int(size), bytes(root), int(block))

    def anchor_at_size(self, log_id: bytes, size: int) -> AnchorOnChain | None:
        registry = self._registry()
        low, high = 0, int(self._call(lambda: registry.functions.anchorCount(log_id).call())) - 1
        while low <= high:  # sizes grow strictly: binary search
            middle = (low + high) // 2
            found = self._call(lambda m=middle: registry.functions.anchorAt(log_id, m).call())
            if found[0] == size:
                return AnchorOnChain(int(found[0]), bytes(found[1]), int(found[5]))
            if found[0] < size:
                low = middle + 1
            else:
                high = middle - 1
        return None

    def anchor(self, pending: PendingAnchor) -> tuple[bytes, int]:
        registry = self._registry()
        call = registry.functions.anchor(
            pending.log_id, pending.size, pending.root, pending.key_id, pending.cosignatures
        )
        # Simulate first: a revert reason comes back as AnchorRejected, not a failed tx.
        self._call(lambda: call.call({"from": self.account.address}))

        def send() -> tuple[bytes, int]:
            tx = call.build_transaction({
                "from": self.account.address,
                "nonce": self.w3.eth.get_transaction_count(self.account.address, "pending"),
                "gasPrice": self.w3.eth.gas_price,
                "gas": 300_000,
            })
            signed = self.account.sign_transaction(tx)
            tx_hash = self.w3.eth.send_raw_transaction(signed.raw_transaction)
            receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash, timeout=self.receipt_timeout, poll_latency=0.2)
            if receipt["status"] != 1:
                raise AnchorRejected(f"anchor transaction 0x{bytes(tx_hash).hex()} reverted")
            return bytes(tx_hash), int(receipt["blockNumber"])

        return self._call(send)  # type: ignore[no-any-return]
