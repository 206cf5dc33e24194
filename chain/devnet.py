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
from chain.execution.genesis import Predeploy, run_constructor
from chain.genesis import GenesisAccount, GenesisSpec, QbftParams, config_digest, genesis_to_json
from chain.keys import write_dev_key
from contracts.artifacts import load_artifact

PERMISSIONING_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001000")
# The trust-anchor system contracts. CityRegistry is the one address the genesis
# config names (systemContracts.cityRegistry); every other one is found through it.
CITY_REGISTRY_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001001")
CITY_ADMINISTRATION_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001002")
DEPARTMENT_REGISTRY_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001003")
TRUST_LIST_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001004")
MUTUAL_RECOGNITION_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001005")
STATUS_REGISTRY_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001006")
ANCHOR_REGISTRY_ADDRESS = bytes.fromhex("0000000000000000000000000000000000001007")
# CityRegistry names (ASCII, zero-padded to bytes32 on chain) -> genesis addresses.
REGISTRY_NAMES = {
    "Permissioning": PERMISSIONING_ADDRESS,
    "CityAdministration": CITY_ADMINISTRATION_ADDRESS,
    "DepartmentRegistry": DEPARTMENT_REGISTRY_ADDRESS,
    "TrustList": TRUST_LIST_ADDRESS,
    "MutualRecognition": MUTUAL_RECOGNITION_ADDRESS,
    "StatusRegistry": STATUS_REGISTRY_ADDRESS,
    "AnchorRegistry": ANCHOR_REGISTRY_ADDRESS,
}
DEV_CHAIN_ID = 20211
DEV_BALANCE = 10**24  # 1,000,000 ether-units, for chains that price gas

ROLE_CITY_ADMIN = 1
ROLE_DEPARTMENT = 2
ROLE_SERVICE_MODULE = 3
ROLE_NAMES = {0: "none", 1: "city admin", 2: "department", 3: "service module"}

# DepartmentRegistry role bits (a department may have several).
DEPARTMENT_ISSUER = 1
DEPARTMENT_VERIFIER = 2
DEPARTMENT_REGULATOR = 4
DEPARTMENT_BANK = 8
DEPARTMENT_SERVICE_MODULE = 16

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


@dataclass(frozen=True)
class GenesisDepartment:
    """A department admitted in genesis, as if the city administration had admitted it."""

    usci: str  # GB 32100-2015, 18 characters; the contract checks the check character
    name: str
    roles: int  # DEPARTMENT_* bits
    admin: bytes  # the department's admin account


# DEV ONLY: the dev "department" account administers a dev issuing department.
DEV_DEPARTMENT = GenesisDepartment(
    usci="91350100M000100Y43",
    name="DEV department",
    roles=DEPARTMENT_ISSUER,
    admin=next(a.address for a in DEV_ACCOUNTS if a.label == "department"),
)


def registry_name(name: str) -> bytes:
    """A CityRegistry name as bytes32: ASCII, left-aligned, zero-padded."""
    return name.encode("ascii").ljust(32, b"\0")


def _calldata(signature: str, types: Sequence[str], values: Sequence[object]) -> bytes:
    return function_signature_to_4byte_selector(signature) + abi_encode(list(types), list(values))


def _predeployed(predeploy: Predeploy) -> GenesisAccount:
    return GenesisAccount(
        balance=0, nonce=1, code=predeploy.runtime_code, storage=predeploy.storage
    )


def _trust_contracts(
    chain_id: int,
    deployer: bytes,
    city_admins: Sequence[bytes],
    threshold: int,
    departments: Sequence[GenesisDepartment],
    platform_operator: bytes | None,
) -> dict[bytes, GenesisAccount]:
    """The trust-anchor contracts, each through its constructor at its fixed address.

    Setup that only the city administration may do (admitting the genesis
    departments) is run as calls from the CityAdministration address, exactly the
    calls an executed multisig proposal would make.
    """

    def deploy(name: str, address: bytes, types: list[str], args: list[object],
               calls: Sequence[tuple[bytes, bytes]] = ()) -> tuple[bytes, GenesisAccount]:
        creation = load_artifact(name).bytecode + abi_encode(types, args)
        return address, _predeployed(run_constructor(creation, address, deployer, calls, chain_id))

    admit = [
        (
            CITY_ADMINISTRATION_ADDRESS,
            _calldata(
                "admit(bytes18,string,uint8,address)",
                ["bytes18", "string", "uint8", "address"],
                [d.usci.encode("ascii"), d.name, d.roles, d.admin],
            ),
        )
        for d in departments
    ]
    entries = sorted(REGISTRY_NAMES.items(), key=lambda item: item[1])
    return dict(
        [
            deploy("CityAdministration", CITY_ADMINISTRATION_ADDRESS, ["address[]", "uint256"],
                   [list(city_admins), threshold]),
            deploy("CityRegistry", CITY_REGISTRY_ADDRESS, ["address", "bytes32[]", "address[]"],
                   [CITY_ADMINISTRATION_ADDRESS, [registry_name(n) for n, _ in entries],
                    [a for _, a in entries]]),
            deploy("DepartmentRegistry", DEPARTMENT_REGISTRY_ADDRESS, ["address"],
                   [CITY_ADMINISTRATION_ADDRESS], admit),
            deploy("TrustList", TRUST_LIST_ADDRESS, ["address", "address"],
                   [CITY_ADMINISTRATION_ADDRESS, DEPARTMENT_REGISTRY_ADDRESS]),
            deploy("MutualRecognition", MUTUAL_RECOGNITION_ADDRESS, ["address"],
                   [DEPARTMENT_REGISTRY_ADDRESS]),
            deploy("StatusRegistry", STATUS_REGISTRY_ADDRESS, ["address"],
                   [DEPARTMENT_REGISTRY_ADDRESS]),
            deploy("AnchorRegistry", ANCHOR_REGISTRY_ADDRESS, ["address", "address", "address"],
                   [CITY_ADMINISTRATION_ADDRESS, DEPARTMENT_REGISTRY_ADDRESS,
                    platform_operator or b"\0" * 20]),
        ]
    )


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
    city_admins: Sequence[bytes] | None = None,
    city_admin_threshold: int | None = None,
    departments: Sequence[GenesisDepartment] = (),
    platform_operator: bytes | None = None,
) -> GenesisSpec:
    """A genesis with the system contracts predeployed through their constructors.

    Permissioning gets ``admins`` as its city admins. The trust-anchor contracts are
    governed by the CityAdministration multisig of ``city_admins`` (default: the
    same ``admins``) with ``city_admin_threshold`` approvals (default: a majority);
    ``departments`` are admitted in genesis and ``platform_operator`` may anchor
    platform logs. Every one of them is listed in CityRegistry.
    """
    if not admins:
        raise ValueError("a genesis needs at least one city admin account")
    city_admins = list(admins if city_admins is None else city_admins)
    if city_admin_threshold is None:
        city_admin_threshold = len(city_admins) // 2 + 1
    if not 1 <= city_admin_threshold <= len(city_admins):
        raise ValueError(
            f"city_admin_threshold must be between 1 and {len(city_admins)} (the city admins)"
        )
    artifact = load_artifact("Permissioning")
    creation = artifact.bytecode + abi_encode(["address[]", "bytes32[]"], [list(admins), list(node_ids)])
    calls = [
        (admins[0], _calldata("setAccountRole(address,uint8)", ["address", "uint8"], [account, role]))
        for account, role in roles.items()
        if role and account not in admins
    ]
    predeploy = run_constructor(creation, PERMISSIONING_ADDRESS, admins[0], calls, chain_id)
    alloc = {address: GenesisAccount(balance=amount) for address, amount in balances.items()}
    alloc[PERMISSIONING_ADDRESS] = _predeployed(predeploy)
    alloc.update(
        _trust_contracts(
            chain_id, admins[0], city_admins, city_admin_threshold, departments,
            platform_operator,
        )
    )
    system_contracts = {
        "permissioning": PERMISSIONING_ADDRESS,
        "cityRegistry": CITY_REGISTRY_ADDRESS,
    }
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
        # DEV ONLY: the dev city-admin account alone is the city administration
        # (threshold 1), so one known key governs every trust contract.
        city_admins=admins,
        city_admin_threshold=1,
        departments=[DEV_DEPARTMENT],
        # DEV ONLY: the dev service-module account anchors the platform's logs.
        platform_operator=next(a.address for a in DEV_ACCOUNTS if a.label == "service-module"),
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
