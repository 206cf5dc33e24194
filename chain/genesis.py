"""The genesis file: chain parameters, validators and allocations (geth/Besu-like JSON).

Parsing is strict: every field is checked, and an error names the field at fault.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chain.consensus.block_encoding import QbftExtraData


class GenesisError(ValueError):
    """The genesis file is malformed; the message names the field."""


@dataclass(frozen=True)
class QbftParams:
    block_period: int = 1
    empty_block_period: int = 10
    request_timeout: float = 4.0
    max_round_timeout: float = 60.0
    epoch_length: int = 30_000


@dataclass(frozen=True)
class GenesisAccount:
    balance: int = 0
    nonce: int = 0
    code: bytes = b""
    storage: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class GenesisSpec:
    chain_id: int
    gas_limit: int
    timestamp: int
    extra_data: bytes
    qbft: QbftParams
    min_gas_price: int
    alloc: dict[bytes, GenesisAccount]
    system_contracts: dict[str, bytes]
    dev_only: bool = False

    @property
    def validators(self) -> tuple[bytes, ...]:
        return QbftExtraData.decode(self.extra_data).validators


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise GenesisError(f"{name}: expected an integer, got a boolean")
    if isinstance(value, int):
        result = value
    elif isinstance(value, str):
        try:
            result = int(value, 16) if value.startswith(("0x", "0X")) else int(value, 10)
        except ValueError as exc:
            raise GenesisError(f"{name}: {value!r} is not an integer") from exc
    else:
        raise GenesisError(f"{name}: expected an integer, got {type(value).__name__}")
    if result < 0:
        raise GenesisError(f"{name}: must not be negative")
    return result


def _bytes(value: Any, name: str, length: int | None = None) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise GenesisError(f"{name}: expected 0x-prefixed hex")
    try:
        raw = bytes.fromhex(value[2:])
    except ValueError as exc:
        raise GenesisError(f"{name}: not valid hex") from exc
    if length is not None and len(raw) != length:
        raise GenesisError(f"{name}: expected {length} bytes, got {len(raw)}")
    return raw


def _address(value: Any, name: str) -> bytes:
    if isinstance(value, str) and not value.startswith("0x"):
        value = "0x" + value
    return _bytes(value, name, 20)


def parse_genesis(document: dict[str, Any]) -> GenesisSpec:
    if not isinstance(document, dict):
        raise GenesisError("genesis: expected a JSON object")
    config = document.get("config")
    if not isinstance(config, dict):
        raise GenesisError("config: missing or not an object")
    qbft_doc = config.get("qbft", {})
    if not isinstance(qbft_doc, dict):
        raise GenesisError("config.qbft: expected an object")
    qbft = QbftParams(
        block_period=_int(qbft_doc.get("blockPeriodSeconds", 1), "config.qbft.blockPeriodSeconds"),
        empty_block_period=_int(
            qbft_doc.get("emptyBlockPeriodSeconds", 10), "config.qbft.emptyBlockPeriodSeconds"
        ),
        request_timeout=float(qbft_doc.get("requestTimeoutSeconds", 4)),
        max_round_timeout=float(qbft_doc.get("maxRoundTimeoutSeconds", 60)),
        epoch_length=_int(qbft_doc.get("epochLength", 30_000), "config.qbft.epochLength"),
    )
    if qbft.block_period < 1:
        raise GenesisError("config.qbft.blockPeriodSeconds: must be at least 1")
    if qbft.empty_block_period < qbft.block_period:
        raise GenesisError(
            "config.qbft.emptyBlockPeriodSeconds: must be at least blockPeriodSeconds"
        )
    alloc_doc = document.get("alloc", {})
    if not isinstance(alloc_doc, dict):
        raise GenesisError("alloc: expected an object")
    alloc: dict[bytes, GenesisAccount] = {}
    for key, account in alloc_doc.items():
        name = f"alloc[{key}]"
        if not isinstance(account, dict):
            raise GenesisError(f"{name}: expected an object")
        storage_doc = account.get("storage", {})
        if not isinstance(storage_doc, dict):
            raise GenesisError(f"{name}.storage: expected an object")
        alloc[_address(key, name)] = GenesisAccount(
            balance=_int(account.get("balance", 0), f"{name}.balance"),
            nonce=_int(account.get("nonce", 0), f"{name}.nonce"),
            code=_bytes(account.get("code", "0x"), f"{name}.code"),
            storage={
                _int(slot, f"{name}.storage key"): _int(value, f"{name}.storage[{slot}]")
                for slot, value in storage_doc.items()
            },
        )
    system_doc = config.get("systemContracts", {})
    if not isinstance(system_doc, dict):
        raise GenesisError("config.systemContracts: expected an object")
    system = {
        str(k): _address(v, f"config.systemContracts.{k}") for k, v in system_doc.items()
    }
    extra = _bytes(document.get("extraData"), "extraData")
    try:
        validators = QbftExtraData.decode(extra).validators
    except Exception as exc:
        raise GenesisError(f"extraData: not a QBFT extraData RLP: {exc}") from exc
    if not validators:
        raise GenesisError("extraData: lists no validators")
    chain_id = _int(config.get("chainId"), "config.chainId")
    if chain_id == 0:
        raise GenesisError("config.chainId: must not be 0")
    min_gas_price = _int(config.get("minGasPrice", 0), "config.minGasPrice")
    vanity = QbftExtraData.decode(extra).vanity
    if vanity != config_digest(chain_id, qbft, min_gas_price, system):
        raise GenesisError(
            "extraData: its vanity is not the digest of config; the chain parameters were "
            "edited after the genesis was made (regenerate the genesis instead)"
        )
    return GenesisSpec(
        chain_id=chain_id,
        gas_limit=_int(document.get("gasLimit", 30_000_000), "gasLimit"),
        timestamp=_int(document.get("timestamp", 0), "timestamp"),
        extra_data=extra,
        qbft=qbft,
        min_gas_price=min_gas_price,
        alloc=alloc,
        system_contracts=system,
        dev_only=bool(config.get("devOnly", False)),
    )


def config_digest(
    chain_id: int, qbft: QbftParams, min_gas_price: int, system_contracts: dict[str, bytes]
) -> bytes:
    """keccak of the chain parameters that are not in any header.

    Genesis extraData carries it as its 32-byte vanity, so the genesis hash binds
    them: two nodes with different block periods or gas rules cannot share a chain.
    """
    from eth_utils import keccak

    canonical = json.dumps(
        {
            "chainId": chain_id,
            "qbft": [qbft.block_period, qbft.empty_block_period, qbft.request_timeout,
                     qbft.max_round_timeout, qbft.epoch_length],
            "minGasPrice": min_gas_price,
            "systemContracts": {k: v.hex() for k, v in sorted(system_contracts.items())},
        },
        sort_keys=True,
        separators=(",", ":"),
    )
    return keccak(canonical.encode())


def load_genesis(path: Path) -> GenesisSpec:
    try:
        document = json.loads(Path(path).read_text())
    except OSError as exc:
        raise GenesisError(f"cannot read genesis file {path}: {exc}") from exc
    except json.JSONDecodeError as exc:
        raise GenesisError(f"genesis file {path} is not valid JSON: {exc}") from exc
    return parse_genesis(document)


def genesis_to_json(spec: GenesisSpec, comment: str | None = None) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if comment:
        document["_comment"] = comment
    document["config"] = {
        "chainId": spec.chain_id,
        "devOnly": spec.dev_only,
        "fork": "cancun",
        "minGasPrice": spec.min_gas_price,
        "qbft": {
            "blockPeriodSeconds": spec.qbft.block_period,
            "emptyBlockPeriodSeconds": spec.qbft.empty_block_period,
            "requestTimeoutSeconds": spec.qbft.request_timeout,
            "maxRoundTimeoutSeconds": spec.qbft.max_round_timeout,
            "epochLength": spec.qbft.epoch_length,
        },
        "systemContracts": {k: "0x" + v.hex() for k, v in sorted(spec.system_contracts.items())},
    }
    document["gasLimit"] = hex(spec.gas_limit)
    document["timestamp"] = hex(spec.timestamp)
    document["extraData"] = "0x" + spec.extra_data.hex()
    alloc: dict[str, Any] = {}
    for address, account in sorted(spec.alloc.items()):
        entry: dict[str, Any] = {"balance": hex(account.balance)}
        if account.nonce:
            entry["nonce"] = hex(account.nonce)
        if account.code:
            entry["code"] = "0x" + account.code.hex()
        if account.storage:
            entry["storage"] = {
                "0x" + slot.to_bytes(32, "big").hex(): "0x" + value.to_bytes(32, "big").hex()
                for slot, value in sorted(account.storage.items())
            }
        alloc["0x" + address.hex()] = entry
    document["alloc"] = alloc
    return document
