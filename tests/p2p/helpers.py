"""Shared pieces of the P2P tests: certificates in tmp dirs, fake node handlers, hosts."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from chain.p2p.framing import encode_frame
from chain.p2p.handshake import LocalStatus, build_hello, node_id_of_public_key, public_key_of
from chain.p2p.host import P2PConfig, P2PHost, TlsFiles, build_ssl_context
from chain.p2p.messages import (
    DEFAULT_FRAME_LIMITS,
    Challenge,
    Message,
    decode_message,
    encode_message,
)
from chain.p2p.pki import (
    create_ca,
    issue_node_certificate,
    write_certificate_pem,
    write_private_key_pem,
)

CHAIN_ID = 20211
GENESIS = b"\x11" * 32
HEAD = b"\x22" * 32


def node_key(i: int) -> bytes:
    return bytes([i]) * 32


def node_id(key: bytes) -> bytes:
    return node_id_of_public_key(public_key_of(key))


@dataclass
class Ca:
    folder: Path
    key_pem: bytes
    cert_pem: bytes

    @classmethod
    def create(cls, folder: Path, name: str = "test consortium CA") -> Ca:
        key_pem, cert_pem = create_ca(name)
        folder.mkdir(parents=True, exist_ok=True)
        write_certificate_pem(folder / "ca.pem", cert_pem)
        return cls(folder, key_pem, cert_pem)

    def node_files(self, name: str, for_node_id: bytes) -> TlsFiles:
        """TLS files of a node whose certificate names ``for_node_id``, trusting this CA."""
        key_pem, cert_pem = issue_node_certificate(self.key_pem, self.cert_pem, for_node_id, name)
        write_private_key_pem(self.folder / f"{name}.key", key_pem, overwrite=True)
        write_certificate_pem(self.folder / f"{name}.pem", cert_pem, overwrite=True)
        return TlsFiles(self.folder / "ca.pem", self.folder / f"{name}.pem",
                        self.folder / f"{name}.key")


@dataclass
class FakeNode:
    """Handlers of a node: records what arrives, serves a fake chain of ``height`` blocks."""

    chain_id: int = CHAIN_ID
    genesis_hash: bytes = GENESIS
    is_validator: bool = True
    height: int = 0
    allowed: Callable[[bytes], bool] = lambda _node_id: True
    serve_delay: float = 0.0
    consensus: list[tuple[bytes, bytes]] = field(default_factory=list)
    blocks: list[tuple[bytes, bytes, bytes]] = field(default_factory=list)
    transactions: list[tuple[bytes, bytes]] = field(default_factory=list)
    statuses: list[tuple[bytes, int, bytes]] = field(default_factory=list)
    refuse_transactions: bool = False  # on_transaction answers False: "do not relay"

    def on_consensus(self, node_id: bytes, raw: bytes) -> None:
        self.consensus.append((node_id, raw))

    def on_new_block(self, node_id: bytes, header_rlp: bytes, body: bytes) -> None:
        self.blocks.append((node_id, header_rlp, body))

    def on_transaction(self, node_id: bytes, raw: bytes) -> bool | None:
        self.transactions.append((node_id, raw))
        return False if self.refuse_transactions else None

    def on_status(self, node_id: bytes, number: int, head_hash: bytes) -> None:
        self.statuses.append((node_id, number, head_hash))

    def serve_blocks(self, from_number: int, count: int) -> Sequence[tuple[bytes, bytes]]:
        if self.serve_delay:
            time.sleep(self.serve_delay)  # a node stuck on its disk
        last = min(self.height, from_number + count - 1)
        return [(b"header-%d" % n, b"body-%d" % n) for n in range(from_number, last + 1)]

    def is_node_allowed(self, node_id: bytes) -> bool:
        return self.allowed(node_id)

    def local_status(self) -> LocalStatus:
        return LocalStatus(self.chain_id, self.genesis_hash, self.height, HEAD, self.is_validator)


def fast_config(static_peers: Sequence[str] = (), port: int = 0, **overrides: object) -> P2PConfig:
    settings: dict[str, object] = {
        "listen_host": "127.0.0.1",
        "listen_port": port,
        "static_peers": tuple(static_peers),
        "handshake_timeout": 2.0,
        "backoff_initial": 0.05,
        "backoff_max": 0.4,
    }
    settings.update(overrides)
    return P2PConfig(**settings)  # type: ignore[arg-type]


async def start_host(
    ca: Ca, index: int, handlers: FakeNode | None = None, static_peers: Sequence[str] = (),
    port: int = 0, files: TlsFiles | None = None, **overrides: object,
) -> tuple[P2PHost, FakeNode]:
    key = node_key(index)
    files = files or ca.node_files(f"node{index}", node_id(key))
    node = handlers or FakeNode()
    host = P2PHost(fast_config(static_peers, port, **overrides), key, files, node)
    await host.start()
    return host, node


def address(host: P2PHost) -> str:
    return f"127.0.0.1:{host.listen_port}"


async def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.01)


async def settle(seconds: float = 0.2) -> None:
    await asyncio.sleep(seconds)


async def raw_connect(
    port: int, tls: TlsFiles, hello_key: bytes, status: LocalStatus
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A hand-driven peer: TLS with ``tls``, then a HELLO signed with ``hello_key``."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=build_ssl_context(tls, server_side=False), server_hostname=""
    )
    writer.write(frame(Challenge(b"\x01" * 32)))
    await writer.drain()
    header = await reader.readexactly(5)
    payload = await reader.readexactly(int.from_bytes(header[:4], "big"))
    challenge = decode_message(header[4], payload)
    assert isinstance(challenge, Challenge)
    writer.write(frame(build_hello(hello_key, challenge.nonce, status)))
    await writer.drain()
    return reader, writer


def frame(message: Message) -> bytes:
    message_type, payload = encode_message(message)
    return encode_frame(message_type, payload, DEFAULT_FRAME_LIMITS)
