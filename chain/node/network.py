"""The node's side of the p2p layer: what peers' messages do, and block sync.

A node that is behind (new, restarted, partitioned, or on an empty data dir)
asks the most advanced peer for the missing blocks, and imports each one with
every check a local block gets (header rules, permissions at height, commit
seals of that height's validator set, re-execution) before rejoining consensus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import rlp

from chain.errors import InvalidBlock, TransactionRejected
from chain.node.chain import node_slot
from chain.node.driver import ConsensusDriver
from chain.node.node import Node
from chain.p2p.handshake import LocalStatus

log = logging.getLogger("citychain.sync")

SYNC_BATCH = 128
SYNC_TIMEOUT = 10.0


@dataclass
class PeerHead:
    number: int
    block_hash: bytes
    seen_at: float


class NodeNetwork:
    """Implements the p2p host's Handlers for one node."""

    def __init__(self, node: Node, driver: ConsensusDriver, node_id: bytes) -> None:
        self.node = node
        self.chain = node.chain
        self.driver = driver
        self.node_id = node_id
        self.host: Any = None  # the P2PHost, set once it exists
        self.peer_heads: dict[bytes, PeerHead] = {}
        self._sync_wakeup = asyncio.Event()
        self.syncing_from: int | None = None
        self.target: int = 0

    # --- Handlers ---------------------------------------------------------------

    def on_consensus(self, node_id: bytes, raw: bytes) -> None:
        self.driver.on_message(raw, time.time())

    def on_new_block(self, node_id: bytes, header_rlp: bytes, body: bytes) -> bool | None:
        """False (do not relay) for a block we could check and refused."""
        from chain.consensus.block_encoding import header_fields

        try:
            number = header_fields(header_rlp).number
        except Exception:
            log.warning("peer 0x%s sent an undecodable block", node_id.hex()[:16])
            return False
        if number == self.chain.head_number + 1:
            return self._import(header_rlp, body, node_id)
        if number > self.chain.head_number + 1:
            self._note_head(node_id, number, b"")
        return None

    def on_transaction(self, node_id: bytes, raw: bytes) -> bool:
        """Relayed only if this node accepted it (valid, new, permitted)."""
        try:
            self.node.accept_from_peer(raw)
        except TransactionRejected:
            return False
        return True

    def on_status(self, node_id: bytes, number: int, block_hash: bytes) -> None:
        self._note_head(node_id, number, block_hash)

    def serve_blocks(self, from_number: int, count: int) -> list[tuple[bytes, bytes]]:
        result = []
        for number in range(from_number, min(from_number + min(count, SYNC_BATCH), self.chain.head_number + 1)):
            block_hash = self.chain.store.canonical_hash(number)
            header_rlp = self.chain.store.header_rlp(block_hash) if block_hash else None
            if header_rlp is None or block_hash is None:
                break
            result.append((header_rlp, rlp.encode(self.chain.store.transactions(block_hash))))
        return result

    def is_node_allowed(self, node_id: bytes) -> bool:
        permissioning = self.chain.permissioning
        if permissioning is None:
            return True
        reader = self.chain.reader_at(self.chain.head)
        return reader.storage(permissioning, node_slot(node_id)) != 0

    def local_status(self) -> LocalStatus:
        genesis = self.chain.store.genesis_hash()
        assert genesis is not None  # written when the chain was opened
        return LocalStatus(
            chain_id=self.chain.chain_id, genesis_hash=genesis, head_number=self.chain.head_number,
            head_hash=self.chain.head_hash, is_validator=self.driver.is_validator,
        )

    # --- sync -----------------------------------------------------------------------

    def _note_head(self, node_id: bytes, number: int, block_hash: bytes) -> None:
        self.peer_heads[node_id] = PeerHead(number, block_hash, time.time())
        if number > self.chain.head_number:
            self._sync_wakeup.set()

    def announce_head(self) -> None:
        """Tell peers our new head, and drop peers no longer on the allowlist."""
        from chain.p2p.messages import Status

        if self.host is not None:
            self.host.broadcast(Status(self.chain.head_number, self.chain.head_hash))
            self.host.enforce_allowlist()

    def synced_validators(self) -> set[bytes]:
        """Validator addresses of connected peers whose head is at most 2 blocks behind ours."""
        if self.host is None:
            return set()
        return {
            peer.node_id[12:]  # node id = keccak(public key); the address is its last 20 bytes
            for peer in self.host.peers()
            if peer.head_number >= self.chain.head_number - 2
        }

    def _import(self, header_rlp: bytes, body: bytes, source: bytes) -> bool:
        try:
            raws = [bytes(item) for item in rlp.decode(body)]
            record = self.chain.import_block(header_rlp, raws, now=time.time())
        except (InvalidBlock, rlp.DecodingError) as exc:
            log.warning("block from peer 0x%s refused: %s", source.hex()[:16], exc)
            return False
        self.node.after_commit(record, time.time())
        self.driver.on_block_imported(time.time())
        self.announce_head()
        return True

    def highest_peer(self) -> tuple[bytes, int] | None:
        best = max(self.peer_heads.items(), key=lambda item: item[1].number, default=None)
        if best is None or best[1].number <= self.chain.head_number:
            return None
        return best[0], best[1].number

    def syncing(self) -> tuple[int, int, int] | None:
        if self.syncing_from is None:
            return None
        return self.syncing_from, self.chain.head_number, self.target

    async def run_sync(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            target = self.highest_peer()
            if target is None or self.host is None:
                self._sync_wakeup.clear()
                waiter = asyncio.ensure_future(self._sync_wakeup.wait())
                await asyncio.wait([waiter, asyncio.ensure_future(stop.wait())], timeout=1.0,
                                   return_when=asyncio.FIRST_COMPLETED)
                waiter.cancel()
                continue
            peer, number = target
            self.target = number
            if self.syncing_from is None:
                self.syncing_from = self.chain.head_number
                log.info("behind peers: syncing from block %d to %d", self.chain.head_number, number)
            try:
                blocks = await self.host.request_blocks(
                    peer, self.chain.head_number + 1, SYNC_BATCH, timeout=SYNC_TIMEOUT
                )
            except Exception as exc:  # a peer that fails a request is dropped from the targets
                log.warning("sync request to 0x%s failed: %s", peer.hex()[:16], exc)
                self.peer_heads.pop(peer, None)
                continue
            if not blocks:
                self.peer_heads.pop(peer, None)
                continue
            for header_rlp, body in blocks:
                if not self._import(header_rlp, body, peer):
                    self.peer_heads.pop(peer, None)
                    break
                await asyncio.sleep(0)  # keep RPC and consensus responsive while syncing
            if self.highest_peer() is None and self.syncing_from is not None:
                log.info("synced to block %d", self.chain.head_number)
                self.syncing_from = None
