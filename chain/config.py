"""Per-node configuration (TOML). Paths are relative to the config file's folder."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ConfigError(ValueError):
    """The node configuration is malformed; the message names the key."""


@dataclass(frozen=True)
class RpcConfig:
    http_host: str = "127.0.0.1"
    http_port: int = 8545
    ws_host: str = "127.0.0.1"
    ws_port: int = 8546
    max_request_bytes: int = 5 * 1024 * 1024
    max_batch_length: int = 100
    max_logs_block_range: int = 10_000


@dataclass(frozen=True)
class PoolSettings:
    max_transactions: int = 10_000
    max_per_sender: int = 64
    max_nonce_gap: int = 64


@dataclass(frozen=True)
class P2PConfig:
    listen_host: str
    listen_port: int
    peers: tuple[tuple[str, int], ...]
    ca_cert: Path
    tls_cert: Path
    tls_key: Path


@dataclass(frozen=True)
class NodeConfig:
    name: str
    data_dir: Path
    genesis: Path
    key_file: Path
    rpc: RpcConfig = field(default_factory=RpcConfig)
    pool: PoolSettings = field(default_factory=PoolSettings)
    metrics_port: int | None = None
    p2p: P2PConfig | None = None


def _parse_peer(value: object, where: str) -> tuple[str, int]:
    if not isinstance(value, str) or ":" not in value:
        raise ConfigError(f"{where}: expected \"host:port\", got {value!r}")
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) <= 65535 or not host:
        raise ConfigError(f"{where}: {value!r} is not host:port")
    return host, int(port)


def _parse_p2p(document: dict[str, Any], base_dir: Path) -> P2PConfig | None:
    if "p2p" not in document:
        return None
    p2p = _section(document, "p2p")
    for required in ("listen_port", "ca_cert", "tls_cert", "tls_key"):
        if required not in p2p:
            raise ConfigError(f"p2p.{required}: missing")
    peers = p2p.get("peers", [])
    if not isinstance(peers, list):
        raise ConfigError("p2p.peers: expected a list of \"host:port\"")
    port = _typed(p2p, "p2p", "listen_port", int, 0)
    if not 0 <= port <= 65535:
        raise ConfigError(f"p2p.listen_port: {port} is not a TCP port")
    return P2PConfig(
        listen_host=_typed(p2p, "p2p", "listen_host", str, "127.0.0.1"),
        listen_port=port,
        peers=tuple(_parse_peer(peer, f"p2p.peers[{i}]") for i, peer in enumerate(peers)),
        ca_cert=(base_dir / _typed(p2p, "p2p", "ca_cert", str, "")).resolve(),
        tls_cert=(base_dir / _typed(p2p, "p2p", "tls_cert", str, "")).resolve(),
        tls_key=(base_dir / _typed(p2p, "p2p", "tls_key", str, "")).resolve(),
    )


def _section(document: dict[str, Any], name: str) -> dict[str, Any]:
    value = document.get(name, {})
    if not isinstance(value, dict):
        raise ConfigError(f"[{name}]: expected a table")
    return value


def _typed(section: dict[str, Any], prefix: str, key: str, kind: type, default: Any) -> Any:
    value = section.get(key, default)
    if kind is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{prefix}.{key}: expected an integer, got {value!r}")
    if kind is str and not isinstance(value, str):
        raise ConfigError(f"{prefix}.{key}: expected a string, got {value!r}")
    return value


def parse_node_config(document: dict[str, Any], base_dir: Path) -> NodeConfig:
    node = _section(document, "node")
    for required in ("data_dir", "genesis", "key_file"):
        if required not in node:
            raise ConfigError(f"node.{required}: missing")
    rpc = _section(document, "rpc")
    pool = _section(document, "pool")
    defaults_rpc = RpcConfig()
    defaults_pool = PoolSettings()
    rpc_config = RpcConfig(
        **{
            key: _typed(rpc, "rpc", key, type(getattr(defaults_rpc, key)), getattr(defaults_rpc, key))
            for key in RpcConfig.__dataclass_fields__
        }
    )
    for port_key in ("http_port", "ws_port"):
        port = getattr(rpc_config, port_key)
        if not 0 <= port <= 65535:
            raise ConfigError(f"rpc.{port_key}: {port} is not a TCP port")
    pool_config = PoolSettings(
        **{
            key: _typed(pool, "pool", key, int, getattr(defaults_pool, key))
            for key in PoolSettings.__dataclass_fields__
        }
    )
    metrics_port = node.get("metrics_port")
    if metrics_port is not None and (isinstance(metrics_port, bool) or not isinstance(metrics_port, int)):
        raise ConfigError("node.metrics_port: expected an integer")
    return NodeConfig(
        name=_typed(node, "node", "name", str, "citychain-node"),
        data_dir=(base_dir / _typed(node, "node", "data_dir", str, "")).resolve(),
        genesis=(base_dir / _typed(node, "node", "genesis", str, "")).resolve(),
        key_file=(base_dir / _typed(node, "node", "key_file", str, "")).resolve(),
        rpc=rpc_config,
        pool=pool_config,
        metrics_port=metrics_port,
        p2p=_parse_p2p(document, base_dir),
    )


def load_node_config(path: Path) -> NodeConfig:
    path = Path(path)
    try:
        document = tomllib.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"cannot read node config {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"node config {path} is not valid TOML: {exc}") from exc
    return parse_node_config(document, path.parent)
