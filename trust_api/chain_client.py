"""The one web3.py module of trust_api: trust snapshots from the chain, and transactions.

Contract addresses come from CityRegistry (``addressOf(name)``), so a service needs
only the RPC URL and, to transact, its account key. ``read_snapshot`` reads every
trust contract at one block, so a snapshot is consistent; ``changed_since`` tells a
cache whether a trust contract emitted anything since its block.

Transactions are signed locally with gas price ``eth_gasPrice`` (0 on a free chain).
Nonces are kept per sender (fetched once, ``pending``), so ``wait=False`` sends many
quickly and ``wait_for`` waits for them. With ``wait=True`` the call is simulated
first, so a revert raises ``ChainRejected`` with its reason before anything is sent;
a simulation sees only mined state, so after ``wait=False`` sends call ``wait_for``
before a dependent ``wait=True`` send. A nonce another client used meanwhile is
fetched again once the node refuses it; but use each sender account from one
TrustChain only: at gas price 0 the node lets a transaction replace a *pending* one
at the same nonce, so two clients with pending transactions could drop each other's.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from functools import partial
from typing import Any

import requests
from eth_account import Account
from hexbytes import HexBytes
from web3 import Web3
from web3.exceptions import ContractLogicError, TimeExhausted, Web3Exception, Web3RPCError
from web3.middleware import ExtraDataToPOAMiddleware

from contracts.artifacts import load_artifact
from license_registry.trust import (
    ALG_ED25519,
    AnchoredCheckpoint,
    DepartmentInfo,
    Recognition,
    StatusListAnchor,
    TrustedKey,
    TrustSnapshot,
)
from trust_api.onboarding import Onboarding, type_code

CITY_REGISTRY = bytes.fromhex("00" * 18 + "1001")
# Contracts whose logs mean the snapshot may have changed (CityRegistry: addresses).
WATCHED = ("DepartmentRegistry", "TrustList", "MutualRecognition", "StatusRegistry",
           "AnchorRegistry")
LOG_RANGE = 5_000  # blocks per eth_getLogs (the node allows 10,000)
MAX_LOG_QUERIES = 20  # beyond that, report a change rather than scan further
_REVERTED = "execution reverted: "


class ChainUnavailable(Exception):
    """The node could not be reached or did not answer in time."""


class ChainRejected(Exception):
    """The chain refused: a revert (the message is its reason) or a refused transaction."""


def _bytes(address: str) -> bytes:
    return bytes.fromhex(address[2:])


class TrustChain(Onboarding):
    def __init__(self, rpc_url: str, city_registry: bytes = CITY_REGISTRY, *,
                 receipt_timeout: float = 60.0, request_timeout: float = 10.0,
                 gas_limit: int = 2_000_000) -> None:
        self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": request_timeout}))
        # QBFT extraData is longer than the 32 bytes web3.py accepts by default.
        self.w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
        self.receipt_timeout = receipt_timeout
        self.gas_limit = gas_limit  # for wait=False sends, which are not estimated
        self._registry = self.w3.eth.contract(
            address=Web3.to_checksum_address(city_registry), abi=load_artifact("CityRegistry").abi)
        self._contracts: dict[str, Any] = {}
        self._nonces: dict[str, int] = {}
        self._tx_params: dict[str, int] = {}
        self._lock = threading.Lock()

    # ---- Plumbing ----

    def _guard(self, action: Callable[[], Any]) -> Any:
        try:
            return action()
        except ContractLogicError as exc:
            message = str(exc.message or exc)
            raise ChainRejected(message.removeprefix(_REVERTED)) from exc
        except (requests.RequestException, OSError, TimeExhausted, Web3Exception) as exc:
            raise ChainUnavailable(f"{type(exc).__name__}: {exc}") from exc

    def contract(self, name: str) -> Any:
        """The system contract registered under ``name`` in CityRegistry."""
        if name not in self._contracts:
            key = name.encode("ascii").ljust(32, b"\0")
            address = self._guard(lambda: self._registry.functions.addressOf(key).call())
            if int(address, 16) == 0:
                raise ChainUnavailable(f"CityRegistry has no {name!r}: wrong chain or registry?")
            self._contracts[name] = self.w3.eth.contract(address=address,
                                                         abi=load_artifact(name).abi)
        return self._contracts[name]

    def send(self, sender_key: bytes, call: Any, *, wait: bool = True) -> bytes:
        """Signs and sends ``call`` (a web3 contract function call); returns the tx hash.
        wait=True: simulated first (ChainRejected with the reason), then mined."""
        account = Account.from_key(sender_key)
        sender = account.address
        gas = self.gas_limit
        if wait:
            estimate = int(self._guard(lambda: call.estimate_gas({"from": sender})))
            gas = estimate + estimate // 2 + 20_000
        with self._lock:
            if not self._tx_params:
                self._tx_params = self._guard(lambda: {
                    "chainId": int(self.w3.eth.chain_id), "gasPrice": int(self.w3.eth.gas_price)})
            for attempt in (1, 2):
                cached = sender in self._nonces
                if not cached:
                    self._nonces[sender] = int(self._guard(
                        lambda: self.w3.eth.get_transaction_count(sender, "pending")))
                nonce = self._nonces[sender]
                tx = call.build_transaction({**self._tx_params, "from": sender, "nonce": nonce,
                                             "gas": gas})
                try:
                    tx_hash = bytes(self.w3.eth.send_raw_transaction(
                        account.sign_transaction(tx).raw_transaction))
                    break
                except Web3RPCError as exc:  # refused by the node: unpermitted, nonce, ...
                    self._nonces.pop(sender, None)  # fetched again on the next send
                    message = str(exc.message or exc)
                    # Someone else used this account: retry once with the node's nonce.
                    if not (cached and attempt == 1 and "nonce" in message.lower()):
                        raise ChainRejected(message) from exc
                except Exception as exc:
                    self._nonces.pop(sender, None)
                    raise ChainUnavailable(f"{type(exc).__name__}: {exc}") from exc
            self._nonces[sender] = nonce + 1
        if wait:
            self.wait_for([tx_hash])
        return tx_hash

    def receipt(self, tx_hash: bytes) -> Any:
        """Waits for the receipt; ChainRejected with the revert reason if it reverted."""
        receipt = self._guard(lambda: self.w3.eth.wait_for_transaction_receipt(
            HexBytes(tx_hash), timeout=self.receipt_timeout, poll_latency=0.2))
        if receipt["status"] != 1:
            raise ChainRejected(self._revert_reason(tx_hash, int(receipt["blockNumber"])))
        return receipt

    def wait_for(self, tx_hashes: Iterable[bytes]) -> int:
        """Waits for every transaction; the newest block among them (0 for none).
        Raises ChainRejected for the first one that reverted."""
        return max((int(self.receipt(h)["blockNumber"]) for h in tx_hashes), default=0)

    def _revert_reason(self, tx_hash: bytes, block: int) -> str:
        # Receipts carry no reason: replay the call on the state before its block (the
        # reason can differ if an earlier transaction of the same block mattered).
        tx = self._guard(lambda: self.w3.eth.get_transaction(HexBytes(tx_hash)))
        replay: Any = {"from": tx["from"], "to": tx["to"], "data": tx["input"], "gas": tx["gas"]}
        try:
            self._guard(lambda: self.w3.eth.call(replay, block_identifier=block - 1))
        except ChainRejected as exc:
            return str(exc)
        return f"transaction 0x{tx_hash.hex()} reverted in block {block}"

    # ---- Department transactions ----

    def add_key(self, sender_key: bytes, kid: bytes, public_key: bytes, valid_from: int,
                valid_until: int, *, algorithm: int = ALG_ED25519, wait: bool = True) -> bytes:
        call = self.contract("TrustList").functions.addKey(
            kid, algorithm, public_key, valid_from, valid_until)
        return self.send(sender_key, call, wait=wait)

    def revoke_key(self, sender_key: bytes, kid: bytes, reason: int, revoked_at: int = 0, *,
                   wait: bool = True) -> bytes:
        """Revokes from ``revoked_at`` on (e.g. the compromise time; 0: now)."""
        call = self.contract("TrustList").functions.revokeKey(kid, reason, revoked_at)
        return self.send(sender_key, call, wait=wait)

    def publish_status_list(self, sender_key: bytes, list_id: bytes, digest: bytes,
                            version: int, *, wait: bool = True) -> bytes:
        call = self.contract("StatusRegistry").functions.publish(list_id, digest, version)
        return self.send(sender_key, call, wait=wait)

    # ---- Reads ----

    def head(self) -> tuple[int, bytes, int]:
        """(block number, block hash, block time) of the latest block."""
        block = self._guard(lambda: self.w3.eth.get_block("latest"))
        return int(block["number"]), bytes(block["hash"]), int(block["timestamp"])

    def read_snapshot(self, log_ids: Iterable[bytes]) -> TrustSnapshot:
        """Every trust anchor, and the latest anchor of each of ``log_ids``, at one block."""
        number, block_hash, block_time = self.head()

        def at(call: Any) -> Any:
            return self._guard(lambda: call.call(block_identifier=number))

        registry = self.contract("DepartmentRegistry").functions
        trust = self.contract("TrustList").functions
        mutual = self.contract("MutualRecognition").functions
        status = self.contract("StatusRegistry").functions
        departments: dict[str, DepartmentInfo] = {}
        keys: list[TrustedKey] = []
        accreditations: set[tuple[str, str]] = set()
        recognitions: list[Recognition] = []
        lists: dict[bytes, StatusListAnchor] = {}
        for raw in at(registry.departments()):
            usci = bytes(raw).decode("ascii")
            name, roles, active, admin = at(registry.department(raw))
            accounts = at(registry.accountsOf(raw))
            ordered = ([admin] if admin in accounts else []) + [a for a in accounts if a != admin]
            departments[usci] = DepartmentInfo(usci, name, int(roles), bool(active),
                                               tuple(_bytes(a) for a in ordered))
            for kid in at(trust.keysOf(raw)):
                algorithm, public_key, start, end, revoked, reason = at(trust.getKey(raw, kid))
                keys.append(TrustedKey(usci, bytes(kid), int(algorithm), bytes(public_key),
                                       int(start), int(end), int(revoked) or None,
                                       int(reason) if revoked else None))
            accreditations.update((usci, type_code(t)) for t in at(trust.accreditationsOf(raw)))
            issuers, types = at(mutual.recognitionsOf(raw))
            for issuer, license_type in zip(issuers, types, strict=True):
                start, end, withdrawn = at(mutual.recognitionOf(raw, issuer, license_type))
                recognitions.append(Recognition(usci, bytes(issuer).decode("ascii"),
                                                type_code(license_type), int(start), int(end),
                                                int(withdrawn) or None))
            for list_id in at(status.listsOf(raw)):
                _owner, digest, version, published = at(status.latest(list_id))
                lists[bytes(list_id)] = StatusListAnchor(bytes(list_id), usci, bytes(digest),
                                                         int(version), int(published))
        checkpoints: dict[bytes, AnchoredCheckpoint] = {}
        anchors = self.contract("AnchorRegistry").functions
        for log_id in log_ids:
            size, root, _kid, _cosignatures, anchored_at, block = at(anchors.latest(log_id))
            if size:
                checkpoints[bytes(log_id)] = AnchoredCheckpoint(
                    bytes(log_id), int(size), bytes(root), int(block), int(anchored_at))
        return TrustSnapshot(number, block_hash, block_time, departments, tuple(keys),
                             frozenset(accreditations), tuple(recognitions), lists, checkpoints)

    def anchors_of(self, log_id: bytes) -> list[AnchoredCheckpoint]:
        """Every anchor of ``log_id`` in order, read at one block (for the regulator)."""
        anchors = self.contract("AnchorRegistry").functions
        block = self.head()[0]
        count = int(self._guard(lambda: anchors.anchorCount(log_id).call(block_identifier=block)))
        found = []
        for index in range(count):
            call = anchors.anchorAt(log_id, index)
            size, root, _kid, _cos, anchored_at, number = self._guard(
                partial(call.call, block_identifier=block))
            found.append(AnchoredCheckpoint(bytes(log_id), int(size), bytes(root), int(number),
                                            int(anchored_at)))
        return found

    def anchor_at_size(self, log_id: bytes, size: int) -> AnchoredCheckpoint | None:
        """The anchor of ``log_id`` at exactly tree size ``size``, if one was made."""
        anchors = self.contract("AnchorRegistry").functions
        low = 0
        high = int(self._guard(lambda: anchors.anchorCount(log_id).call())) - 1
        while low <= high:  # sizes grow strictly: binary search
            middle = (low + high) // 2
            found = self._guard(anchors.anchorAt(log_id, middle).call)
            if found[0] == size:
                return AnchoredCheckpoint(bytes(log_id), int(found[0]), bytes(found[1]),
                                          int(found[5]), int(found[4]))
            low, high = (middle + 1, high) if found[0] < size else (low, middle - 1)
        return None

    def changed_since(self, block_number: int) -> int | None:
        """The newest block after ``block_number`` with a log of a trust contract (or of
        CityRegistry), None if there is none. Very old blocks count as changed (the
        head is returned) rather than being scanned to the end."""
        head = self.head()[0]
        addresses = [self._registry.address] + [self.contract(n).address for n in WATCHED]
        last = head
        for _ in range(MAX_LOG_QUERIES):
            if last <= block_number:
                return None
            first = max(block_number + 1, last - LOG_RANGE + 1)
            query: Any = {"fromBlock": first, "toBlock": last, "address": addresses}
            logs = self._guard(partial(self.w3.eth.get_logs, query))
            if logs:
                if any(log["address"] == self._registry.address for log in logs):
                    self._contracts.clear()  # a contract may have moved
                return max(int(log["blockNumber"]) for log in logs)
            last = first - 1
        return head if last > block_number else None
