"""The shell around the sans-IO QBFT core: turns its effects into node actions.

BuildBlock -> execute pool transactions with py-evm -> BlockBuilt.
CommitBlock -> store the sealed block atomically -> NewChainHead.
Broadcast -> the p2p layer (issue 3); a single validator has nobody to tell.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import rlp

from chain.consensus import block_encoding as qbft
from chain.consensus.core import QbftCore
from chain.consensus.events import (
    BlockBuilt,
    Broadcast,
    BuildBlock,
    ChainHead,
    CommitBlock,
    Effect,
    Event,
    MessageReceived,
    NewChainHead,
    QbftConfig,
    RoundChanged,
    RoundState,
    Tick,
)
from chain.consensus.messages import ProposedBlock
from chain.errors import InvalidBlock
from chain.node.node import Node

log = logging.getLogger("citychain.consensus")


class ConsensusDriver:
    def __init__(
        self,
        node: Node,
        private_key: bytes,
        now: float,
        broadcast: Callable[[bytes], object] | None = None,
        on_commit: Callable[[bytes, bytes], None] | None = None,
    ) -> None:
        self.node = node
        self.chain = node.chain
        params = self.chain.genesis.qbft
        self.config = QbftConfig(
            block_period=params.block_period,
            empty_block_period=params.empty_block_period,
            request_timeout=params.request_timeout,
            max_round_timeout=params.max_round_timeout,
            future_message_buffer=1024,
            round_change_rebroadcast=params.request_timeout,
        )
        self._broadcast = broadcast or (lambda raw: None)
        self._on_commit = on_commit or (lambda header_rlp, body: None)
        self.core = QbftCore(self.config, private_key, self._chain_head(), self._validate_block)
        self.round_changes = 0
        self.last_commit_time: float | None = None
        self.last_block_interval: float | None = None
        self.last_finality_latency: float | None = None
        self._height_started: float = now
        self._handle(NewChainHead(self._chain_head(), now))

    def _chain_head(self) -> ChainHead:
        head = self.chain.head
        return ChainHead(
            header_rlp=self.chain.store.header_rlp(self.chain.head_hash) or b"",
            validators=self.chain.validators_after(head),
            proposer=bytes(head.coinbase),
        )

    def _validate_block(self, block: ProposedBlock) -> bool:
        try:
            raws = [bytes(item) for item in rlp.decode(block.body)]
            self.chain.execute_for_import(block.header_rlp, raws, now=None)
        except (InvalidBlock, rlp.DecodingError) as exc:
            log.warning("proposed block refused: %s", exc)
            return False
        return True

    # --- events in ---------------------------------------------------------------

    def on_tick(self, now: float) -> None:
        self._handle(Tick(now, self.node.has_pending()))

    def on_message(self, raw: bytes, now: float) -> None:
        self._handle(MessageReceived(raw, now))

    def on_block_imported(self, now: float) -> None:
        """A block arrived by gossip or sync and is now the head: move to the next height."""
        self._handle(NewChainHead(self._chain_head(), now))

    def set_network(self, broadcast: Callable[[bytes], object], on_commit: Callable[[bytes, bytes], None]) -> None:
        self._broadcast, self._on_commit = broadcast, on_commit

    def round_state(self) -> RoundState:
        return self.core.round_state()

    @property
    def is_validator(self) -> bool:
        return self.core.address in self.chain.validators_after(self.chain.head)

    # --- effects out -------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        queue: list[Event] = [event]
        while queue:
            effects = self.core.handle(queue.pop(0))
            for effect in effects:
                follow_up = self._apply(effect, _now_of(event))
                if follow_up is not None:
                    queue.append(follow_up)

    def _apply(self, effect: Effect, now: float) -> Event | None:
        if isinstance(effect, Broadcast):
            self._broadcast(effect.raw)
            return None
        if isinstance(effect, BuildBlock):
            if effect.parent_hash != self.chain.head_hash:
                return None
            built = self.chain.build_block(
                self.node.candidates(),
                coinbase=self.core.address,
                timestamp=effect.timestamp,
                round_number=effect.round,
            )
            for tx_hash, why in built.excluded:
                log.info("transaction 0x%s left out of block %d: %s", tx_hash.hex(), effect.height, why)
            body = rlp.encode([t.transaction.raw for t in built.outcome.executed])
            return BlockBuilt(ProposedBlock(built.header_rlp, body), now)
        if isinstance(effect, CommitBlock):
            if qbft.header_fields(effect.header_rlp).number <= self.chain.head_number:
                return None  # the block already arrived by gossip or sync
            raws = [bytes(item) for item in rlp.decode(effect.body)]
            outcome = self.chain.execute_for_import(effect.header_rlp, raws, now=None)
            qbft.validate_finalized_header(effect.header_rlp, self.chain.validators_after(self.chain.head))
            record = self.chain.commit(effect.header_rlp, outcome)
            if self.last_commit_time is not None:
                self.last_block_interval = now - self.last_commit_time
            # From the moment the block's timestamp allowed it to be proposed to finality.
            self.last_finality_latency = max(0.0, now - float(outcome.header.timestamp))
            self.last_commit_time = now
            self.node.after_commit(record, now)
            self._on_commit(effect.header_rlp, effect.body)
            log.info("block %d finalized: 0x%s, %d transactions", record.number, record.hash.hex(), len(record.transactions))
            return NewChainHead(self._chain_head(), now)
        if isinstance(effect, RoundChanged):
            if effect.round > 0:
                self.round_changes += 1
                log.warning("round change at height %d: now round %d", effect.height, effect.round)
            return None
        raise TypeError(f"unknown consensus effect {effect!r}")


def _now_of(event: Event) -> float:
    return event.now
