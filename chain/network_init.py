"""`citychain network init`: a consortium's CA, node keys, certificates, genesis, configs.

Layout written under DIR:
  ca/ca.pem, ca/ca.key            the consortium CA (keep ca.key offline in production)
  admin/city-admin.json           the first city admin account key
  genesis.json                    validators, node allowlist, permissioning contract
  node-<i>/node.toml              per-node config (data dir, key, RPC, p2p peers, TLS files)
  node-<i>/keys/node.json         the node's secp256k1 key (validator key for validators)
  node-<i>/tls/{node.pem,node.key,ca.pem}
With ``dev_keys`` the keys are derived from public labels and stored in clear
(marked DEV ONLY); otherwise they are random and written as encrypted keystores.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

from chain.devnet import (
    DEV_BALANCE,
    DEV_WARNING,
    ROLE_CITY_ADMIN,
    address_of,
    dev_private_key,
    make_genesis,
    node_id_of,
)
from chain.genesis import QbftParams, genesis_to_json
from chain.keys import write_dev_key, write_keystore
from chain.p2p.pki import create_ca, issue_node_certificate


@dataclass(frozen=True)
class NodeLayout:
    index: int
    name: str
    folder: Path
    validator: bool
    http_port: int
    ws_port: int
    p2p_port: int
    metrics_port: int
    address: bytes


def _write_secret(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    path.chmod(0o600)


def init_network(
    folder: Path,
    *,
    validators: int,
    observers: int = 0,
    dev_keys: bool = False,
    passphrase: str | None = None,
    chain_id: int = 20211,
    block_period: int = 1,
    empty_block_period: int = 10,
    base_http_port: int = 8545,
    base_p2p_port: int = 30303,
    host: str = "127.0.0.1",
) -> list[NodeLayout]:
    if validators < 1:
        raise ValueError("a network needs at least one validator")
    if not dev_keys and (passphrase is None or len(passphrase) < 8):
        raise ValueError("production keys need a keystore passphrase of at least 8 characters")
    if (folder / "genesis.json").exists():
        raise FileExistsError(f"{folder} already holds a network; choose an empty folder")
    folder.mkdir(parents=True, exist_ok=True)

    def key_for(label: str) -> bytes:
        return dev_private_key(f"network:{chain_id}:{label}") if dev_keys else secrets.token_bytes(32)

    def store_key(path: Path, key: bytes) -> None:
        if dev_keys:
            write_dev_key(path, key)
        else:
            assert passphrase is not None
            write_keystore(path, key, passphrase)

    ca_key, ca_cert = create_ca(f"citychain consortium {chain_id}")
    _write_secret(folder / "ca" / "ca.key", ca_key)
    (folder / "ca" / "ca.pem").write_bytes(ca_cert)
    admin_key = key_for("city-admin")
    store_key(folder / "admin" / "city-admin.json", admin_key)

    layouts: list[NodeLayout] = []
    keys: list[bytes] = []
    for index in range(validators + observers):
        is_validator = index < validators
        name = f"{'validator' if is_validator else 'observer'}-{index}"
        key = key_for(name)
        keys.append(key)
        layouts.append(
            NodeLayout(
                index=index, name=name, folder=folder / f"node-{index}", validator=is_validator,
                http_port=base_http_port + 10 * index, ws_port=base_http_port + 10 * index + 1,
                metrics_port=base_http_port + 10 * index + 2, p2p_port=base_p2p_port + index,
                address=address_of(key),
            )
        )
    admin = address_of(admin_key)
    spec = make_genesis(
        chain_id=chain_id,
        validators=[n.address for n in layouts if n.validator],
        admins=[admin],
        roles={admin: ROLE_CITY_ADMIN},
        node_ids=[node_id_of(k) for k in keys],
        balances={admin: DEV_BALANCE},
        qbft=QbftParams(block_period=block_period, empty_block_period=empty_block_period),
        dev_only=dev_keys,
    )
    (folder / "genesis.json").write_text(
        json.dumps(genesis_to_json(spec, comment=DEV_WARNING if dev_keys else None), indent=2) + "\n"
    )
    for layout, key in zip(layouts, keys, strict=True):
        store_key(layout.folder / "keys" / "node.json", key)
        tls_key, tls_cert = issue_node_certificate(ca_key, ca_cert, node_id_of(key), layout.name)
        _write_secret(layout.folder / "tls" / "node.key", tls_key)
        (layout.folder / "tls" / "node.pem").write_bytes(tls_cert)
        (layout.folder / "tls" / "ca.pem").write_bytes(ca_cert)
        peers = ", ".join(f'"{host}:{other.p2p_port}"' for other in layouts if other is not layout)
        header = f"# {DEV_WARNING}\n" if dev_keys else ""
        (layout.folder / "node.toml").write_text(
            header
            + "[node]\n"
            + f'name = "{layout.name}"\n'
            + 'data_dir = "data"\n'
            + 'genesis = "../genesis.json"\n'
            + 'key_file = "keys/node.json"\n'
            + f"metrics_port = {layout.metrics_port}\n\n"
            + "[rpc]\n"
            + f'http_host = "{host}"\nhttp_port = {layout.http_port}\n'
            + f'ws_host = "{host}"\nws_port = {layout.ws_port}\n\n'
            + "[p2p]\n"
            + f'listen_host = "{host}"\nlisten_port = {layout.p2p_port}\n'
            + f"peers = [{peers}]\n"
            + 'ca_cert = "tls/ca.pem"\ntls_cert = "tls/node.pem"\ntls_key = "tls/node.key"\n'
        )
    return layouts
