"""Genesis making, and the DEV-ONLY single-validator network that ``citychain up`` runs.

Every dev key here is derived from a public label: anyone can recompute it. They
exist so a developer gets a working chain with funded accounts in one command.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from coincurve import PrivateKey
from eth_abi import encode as abi_encode
from eth_utils import function_signature_to_4byte_selector, keccak

from chain.consensus.block_encoding import QbftExtraData
from chain.execution.genesis import run_constructor
from chain.genesis import GenesisAccount, GenesisSpec, QbftParams, config_digest, genesis_to_json
from chain.keys import write_dev_key
from contracts.artifacts import load_artifact

PERMISSIONING_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001000")
DEV_CHAIN_ID = 20211
DEV_BALANCE = 10**24  # 1,000,000 ether-units, for chains that price gas

ROLE_CITY_ADMIN = 1
ROLE_DEPARTMENT = 2
ROLE_SERVICE_MODULE = 3
ROLE_NAMES = {0: "none", 1: "city admin", 2: "department", 3: "service module"}

DEV_WARNING = (
    "DEV ONLY: every key of this network is derived from a public label and is known "
    "to everyone. Never use this genesis or these keys for a real network."
)


def dev_private_key(label: str) -> bytes:
    return keccak(b"citychain-dev-key:" + label.encode())


def address_of(private_key: bytes) -> bytes:
    public = PrivateKey(private_key).public_key.format(compressed=False)[1:]
    return keccak(public)[12:]


def node_id_of(private_key: bytes) -> bytes:
    """keccak256 of the 64-byte public key: the id the node allowlist holds."""
    return keccak(PrivateKey(private_key).public_key.format(compressed=False)[1:])


@dataclass(frozen=True)
class DevAccount:
    label: str
    private_key: bytes
    role: int

    @property
    def address(self) -> bytes:
        return address_of(self.private_key)


DEV_ACCOUNTS = (
    DevAccount("city-admin", dev_private_key("account:city-admin"), ROLE_CITY_ADMIN),
    DevAccount("department", dev_private_key("account:department"), ROLE_DEPARTMENT),
    DevAccount("service-module", dev_private_key("account:service-module"), ROLE_SERVICE_MODULE),
    DevAccount("unpermitted", dev_private_key("account:unpermitted"), 0),
)


def _calldata(signature: str, types: Sequence[str], values: Sequence[object]) -> bytes:
    return function_signature_to_4byte_selector(signature) + abi_encode(list(types), list(values))


def make_genesis(
    *,
    chain_id: int,
    validators: Sequence[bytes],
    admins: Sequence[bytes],
    roles: Mapping[bytes, int],
    node_ids: Sequence[bytes],
    balances: Mapping[bytes, int],
    qbft: QbftParams,
    gas_limit: int = 30_000_000,
    min_gas_price: int = 0,
    timestamp: int = 0,
    dev_only: bool = False,
) -> GenesisSpec:
    """A genesis with the Permissioning contract predeployed through its constructor."""
    if not admins:
        raise ValueError("a genesis needs at least one city admin account")
    artifact = load_artifact("Permissioning")
    creation = artifact.bytecode + abi_encode(["address[]", "bytes32[]"], [list(admins), list(node_ids)])
    calls = [
        (admins[0], _calldata("setAccountRole(address,uint8)", ["address", "uint8"], [account, role]))
        for account, role in roles.items()
        if role and account not in admins
    ]
    predeploy = run_constructor(creation, PERMISSIONING_ADDRESS, admins[0], calls, chain_id)
    alloc = {address: GenesisAccount(balance=amount) for address, amount in balances.items()}
    alloc[PERMISSIONING_ADDRESS] = GenesisAccount(
        balance=0, nonce=1, code=predeploy.runtime_code, storage=predeploy.storage
    )
    system_contracts = {"permissioning": PERMISSIONING_ADDRESS}
    extra = QbftExtraData(
        vanity=config_digest(chain_id, qbft, min_gas_price, system_contracts),
        validators=tuple(sorted(validators)), vote=None, round=0, seals=(),
    ).encode()
    return GenesisSpec(
        chain_id=chain_id,
        gas_limit=gas_limit,
        timestamp=timestamp,
        extra_data=extra,
        qbft=qbft,
        min_gas_price=min_gas_price,
        alloc=alloc,
        system_contracts=system_contracts,
        dev_only=dev_only,
    )


def dev_genesis(
    validator_key: bytes | None = None,
    *,
    block_period: int = 1,
    empty_block_period: int = 10,
    min_gas_price: int = 0,
) -> GenesisSpec:
    validator_key = validator_key or dev_private_key("validator:0")
    admins = [a.address for a in DEV_ACCOUNTS if a.role == ROLE_CITY_ADMIN]
    return make_genesis(
        chain_id=DEV_CHAIN_ID,
        validators=[address_of(validator_key)],
        admins=admins,
        roles={a.address: a.role for a in DEV_ACCOUNTS},
        node_ids=[node_id_of(validator_key)],
        balances={a.address: DEV_BALANCE for a in DEV_ACCOUNTS},
        qbft=QbftParams(block_period=block_period, empty_block_period=empty_block_period),
        min_gas_price=min_gas_price,
        dev_only=True,
    )


def write_dev_network(
    folder: Path,
    *,
    http_port: int = 8545,
    ws_port: int = 8546,
    block_period: int = 1,
    empty_block_period: int = 10,
    min_gas_price: int = 0,
    metrics_port: int | None = None,
) -> Path:
    """Write genesis.json, node.toml and the dev validator key; return node.toml's path."""
    folder.mkdir(parents=True, exist_ok=True)
    validator_key = dev_private_key("validator:0")
    spec = dev_genesis(
        validator_key, block_period=block_period, empty_block_period=empty_block_period,
        min_gas_price=min_gas_price,
    )
    (folder / "genesis.json").write_text(
        json.dumps(genesis_to_json(spec, comment=DEV_WARNING), indent=2) + "\n"
    )
    write_dev_key(folder / "keys" / "validator.json", validator_key)
    config = folder / "node.toml"
    config.write_text(
        f"# {DEV_WARNING}\n"
        "[node]\n"
        'name = "dev-validator-0"\n'
        'data_dir = "data"\n'
        'genesis = "genesis.json"\n'
        'key_file = "keys/validator.json"\n'
        + (f"metrics_port = {metrics_port}\n" if metrics_port is not None else "")
        + "\n[rpc]\n"
        'http_host = "127.0.0.1"\n'
        f"http_port = {http_port}\n"
        'ws_host = "127.0.0.1"\n'
        f"ws_port = {ws_port}\n"
    )
    return config
