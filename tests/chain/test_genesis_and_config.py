"""Genesis and node-config parsing: the committed dev network, and every error named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from chain.config import ConfigError, load_node_config, parse_node_config
from chain.devnet import DEV_WARNING, dev_genesis
from chain.genesis import GenesisError, genesis_to_json, load_genesis, parse_genesis

DEV = Path(__file__).resolve().parents[2] / "node_configs" / "dev"


def test_committed_dev_genesis_is_what_the_generator_makes() -> None:
    """Fails when a contract artifact changes without `citychain genesis dev` being rerun."""
    committed = json.loads((DEV / "genesis.json").read_text())
    assert committed == genesis_to_json(dev_genesis(), comment=DEV_WARNING)
    assert committed["config"]["devOnly"] is True and "DEV ONLY" in committed["_comment"]


def test_dev_genesis_round_trips() -> None:
    spec = load_genesis(DEV / "genesis.json")
    assert spec == parse_genesis(genesis_to_json(spec))
    assert len(spec.validators) == 1 and spec.system_contracts["permissioning"]


def _doc() -> dict:
    return json.loads((DEV / "genesis.json").read_text())


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.pop("config"), "config: missing"),
        (lambda d: d["config"].update(chainId="x"), "config.chainId"),
        (lambda d: d["config"].update(chainId=0), "config.chainId: must not be 0"),
        (lambda d: d["config"]["qbft"].update(blockPeriodSeconds=0), "blockPeriodSeconds"),
        (lambda d: d["config"]["qbft"].update(emptyBlockPeriodSeconds=0), "emptyBlockPeriodSeconds"),
        (lambda d: d["config"]["qbft"].update(blockPeriodSeconds=2), "edited after the genesis"),
        (lambda d: d["config"].update(minGasPrice=1), "edited after the genesis"),
        (lambda d: d.update(extraData="0x1234"), "extraData"),
        (lambda d: d.update(extraData="nothex"), "extraData"),
        (lambda d: d["alloc"].update({"0x12": {}}), "expected 20 bytes"),
        (lambda d: d["alloc"].update({"0x" + "11" * 20: {"balance": -1}}), "must not be negative"),
        (lambda d: d["alloc"].update({"0x" + "11" * 20: {"balance": True}}), "boolean"),
        (lambda d: d.update(alloc=[]), "alloc: expected an object"),
    ],
)
def test_malformed_genesis_names_the_field(mutate, message) -> None:
    document = _doc()
    mutate(document)
    with pytest.raises(GenesisError, match=message):
        parse_genesis(document)


def test_unreadable_genesis_files(tmp_path: Path) -> None:
    with pytest.raises(GenesisError, match="cannot read"):
        load_genesis(tmp_path / "missing.json")
    (tmp_path / "bad.json").write_text("{nope")
    with pytest.raises(GenesisError, match="not valid JSON"):
        load_genesis(tmp_path / "bad.json")


def test_dev_node_config_resolves_paths() -> None:
    config = load_node_config(DEV / "node.toml")
    assert config.genesis == (DEV / "genesis.json").resolve()
    assert config.key_file == (DEV / "keys" / "validator.json").resolve()
    assert config.rpc.http_port == 8545


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({}, "node.data_dir: missing"),
        ({"node": {"data_dir": "d", "genesis": "g"}}, "node.key_file: missing"),
        ({"node": "x"}, r"\[node\]: expected a table"),
        ({"node": {"data_dir": "d", "genesis": "g", "key_file": "k"}, "rpc": {"http_port": "80"}}, "rpc.http_port"),
        ({"node": {"data_dir": "d", "genesis": "g", "key_file": "k"}, "rpc": {"ws_port": 70000}}, "not a TCP port"),
        ({"node": {"data_dir": "d", "genesis": "g", "key_file": "k"}, "pool": {"max_per_sender": True}}, "pool.max_per_sender"),
    ],
)
def test_malformed_node_config_names_the_key(document, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_node_config(document, Path("/tmp"))
