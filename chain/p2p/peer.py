"""The state the host keeps per established connection."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from chain.p2p.transport import FrameStream

BlockData = tuple[bytes, bytes]  # (header RLP, body)


@dataclass(frozen=True)
class PeerInfo:
    node_id: bytes
    address: str
    inbound: bool
    head_number: int
    head_hash: bytes
    is_validator: bool
    connected_since: float  # Unix time


@dataclass(eq=False)
class Peer:
    node_id: bytes
    address: str
    inbound: bool
    writer: asyncio.StreamWriter
    frames: FrameStream
    queue: asyncio.Queue[bytes]
    head_number: int
    head_hash: bytes
    is_validator: bool
    connected_since: float
    last_received: float
    closed: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    pending: dict[int, tuple[asyncio.Future[list[BlockData]], int]] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return f"node 0x{self.node_id.hex()[:16]}… at {self.address}"

    def info(self) -> PeerInfo:
        return PeerInfo(
            node_id=self.node_id, address=self.address, inbound=self.inbound,
            head_number=self.head_number, head_hash=self.head_hash,
            is_validator=self.is_validator, connected_since=self.connected_since,
        )


def keeps_new_connection(
    local_id: bytes, peer_id: bytes, new_inbound: bool, old_inbound: bool
) -> bool:
    """Of two connections to one peer, whether to keep the new one.

    Both ends decide alike: keep the connection dialed by the smaller node id. Two
    connections dialed by the same side mean the old one is stale (the peer
    restarted, or the network dropped it silently): keep the new one.
    """
    if new_inbound == old_inbound:
        return True
    new_dialer = peer_id if new_inbound else local_id
    return new_dialer == min(local_id, peer_id)
