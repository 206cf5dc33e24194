"""`network init` output: keys, CA, certificates naming node ids, genesis allowlist, configs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cryptography import x509

from chain.config import load_node_config
from chain.devnet import node_id_of
from chain.genesis import load_genesis
from chain.keys import load_private_key
from chain.network_init import init_network
from chain.node.chain import Chain, node_slot
from chain.p2p.pki import is_issued_by, node_id_from_certificate
from chain.storage.lmdb_store import LmdbStore


def test_production_layout_is_encrypted_and_consistent(tmp_path: Path) -> None:
    layouts = init_network(tmp_path, validators=3, observers=1, passphrase="a long passphrase")
    assert [n.validator for n in layouts] == [True, True, True, False]
    ca = (tmp_path / "ca" / "ca.pem").read_bytes()
    assert (tmp_path / "ca" / "ca.key").stat().st_mode & 0o777 == 0o600
    spec = load_genesis(tmp_path / "genesis.json")
    assert not spec.dev_only and "_comment" not in json.loads((tmp_path / "genesis.json").read_text())
    assert spec.validators == tuple(sorted(n.address for n in layouts[:3]))
    chain = Chain(LmdbStore(tmp_path / "chain-check"), spec)
    reader = chain.reader_at(chain.head)
    for layout in layouts:
        config = load_node_config(layout.folder / "node.toml")
        assert config.p2p is not None and len(config.p2p.peers) == 3
        key_doc = json.loads(config.key_file.read_text())
        assert "crypto" in key_doc and "devOnly" not in key_doc  # an encrypted keystore
        key = load_private_key(config.key_file, "a long passphrase")
        cert = x509.load_pem_x509_certificate(config.p2p.tls_cert.read_bytes())
        assert node_id_from_certificate(cert.public_bytes(encoding=_der())) == node_id_of(key)
        assert is_issued_by(config.p2p.tls_cert.read_bytes(), ca)
        assert config.p2p.tls_key.stat().st_mode & 0o777 == 0o600
        # Every node is on the on-chain node allowlist from genesis.
        assert reader.storage(spec.system_contracts["permissioning"], node_slot(node_id_of(key))) == 1


def test_refuses_weak_passphrase_and_reuse_of_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="passphrase"):
        init_network(tmp_path / "a", validators=1, passphrase="short")
    init_network(tmp_path / "b", validators=1, dev_keys=True)
    with pytest.raises(FileExistsError, match="already holds a network"):
        init_network(tmp_path / "b", validators=1, dev_keys=True)


def _der():
    from cryptography.hazmat.primitives.serialization import Encoding

    return Encoding.DER
