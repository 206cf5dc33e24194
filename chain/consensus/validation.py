"""Validity of proposals and round changes at one height: free functions that raise.

Content validity (execution, state root, permissions) is the BlockValidator port's;
these check what consensus alone decides: header shape, timing, proposer and the
justification of proposals in rounds > 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from chain.consensus.block_encoding import (
    DIFFICULTY,
    MIX_HASH,
    NONCE,
    HeaderFields,
    block_hash,
    header_fields,
    proposer_for_round,
    quorum,
)
from chain.consensus.errors import InvalidHeader, InvalidMessage
from chain.consensus.events import QbftConfig
from chain.consensus.messages import Prepare, Proposal, ProposedBlock, RoundChange


@dataclass(frozen=True)
class HeightContext:
    """What every message at one height is checked against."""

    height: int
    parent_hash: bytes
    parent_timestamp: int
    parent_proposer: bytes
    validators: tuple[bytes, ...]

    def proposer(self, round_: int) -> bytes:
        return proposer_for_round(self.validators, self.parent_proposer, round_, self.height)

    @property
    def quorum(self) -> int:
        return quorum(len(self.validators))


def prepare_authors(
    prepares: Iterable[Prepare], ctx: HeightContext, round_: int, digest: bytes
) -> set[bytes]:
    """Distinct validators whose PREPARE matches (height, round, digest)."""
    members = set(ctx.validators)
    return {
        p.author
        for p in prepares
        if p.height == ctx.height
        and p.round == round_
        and p.block_hash == digest
        and p.author in members
    }


def validate_prepare_quorum(
    prepares: Iterable[Prepare], ctx: HeightContext, round_: int, digest: bytes
) -> None:
    prepares = tuple(prepares)
    if any(p.height != ctx.height or p.round != round_ or p.block_hash != digest for p in prepares):
        raise InvalidMessage("a justifying PREPARE does not match the prepared block")
    if len(prepare_authors(prepares, ctx, round_, digest)) < ctx.quorum:
        raise InvalidMessage("fewer than a quorum of distinct validator PREPAREs")


def validate_round_change(message: RoundChange, ctx: HeightContext) -> None:
    """A standalone ROUND_CHANGE: if prepared, it carries the block and its quorum."""
    if message.round < 1:
        raise InvalidMessage("ROUND_CHANGE targets round 1 or above")
    if message.prepared_round is None or message.prepared_block_hash is None:
        return
    if message.prepared_round >= message.round:
        raise InvalidMessage("prepared round must be below the ROUND_CHANGE round")
    if message.prepared_block is None:
        raise InvalidMessage("a prepared ROUND_CHANGE carries its block")
    if block_hash(message.prepared_block.header_rlp) != message.prepared_block_hash:
        raise InvalidMessage("prepared block does not match the prepared block hash")
    validate_prepare_quorum(
        message.prepares, ctx, message.prepared_round, message.prepared_block_hash
    )


def validate_proposal_justification(proposal: Proposal, ctx: HeightContext) -> bytes | None:
    """The block hash the proposal must carry (highest prepared), or None if free."""
    if proposal.round == 0:
        if proposal.round_changes or proposal.prepares:
            raise InvalidMessage("a round-0 PROPOSAL carries no justification")
        return None
    members = set(ctx.validators)
    authors: set[bytes] = set()
    for rc in proposal.round_changes:
        if rc.height != ctx.height or rc.round != proposal.round:
            raise InvalidMessage("justifying ROUND_CHANGE is for another height or round")
        if rc.author not in members or rc.author in authors:
            raise InvalidMessage("justifying ROUND_CHANGE from a non-validator or twice")
        if rc.prepared_round is not None and rc.prepared_round >= proposal.round:
            raise InvalidMessage("justifying ROUND_CHANGE prepared at or after its round")
        authors.add(rc.author)
    if len(authors) < ctx.quorum:
        raise InvalidMessage("fewer than a quorum of ROUND_CHANGEs justify the PROPOSAL")
    prepared = [rc for rc in proposal.round_changes if rc.prepared_round is not None]
    if not prepared:
        if proposal.prepares:
            raise InvalidMessage("PREPAREs justify nothing when no ROUND_CHANGE is prepared")
        return None
    highest = max(prepared, key=lambda rc: rc.prepared_round or 0)
    top_round = highest.prepared_round
    digest = highest.prepared_block_hash
    if top_round is None or digest is None:
        raise InvalidMessage("prepared ROUND_CHANGE lacks its round or hash")
    validate_prepare_quorum(proposal.prepares, ctx, top_round, digest)
    return digest


def validate_proposed_header(
    block: ProposedBlock, round_: int, ctx: HeightContext, config: QbftConfig, now: float
) -> HeaderFields:
    """Consensus rules of a proposed header (round in extraData, no seals)."""
    fields = header_fields(block.header_rlp)
    extra = fields.extra
    if fields.number != ctx.height:
        raise InvalidHeader(f"block number {fields.number}, expected {ctx.height}")
    if fields.parent_hash != ctx.parent_hash:
        raise InvalidHeader("block does not extend the current head")
    if extra.validators != ctx.validators:
        raise InvalidHeader("extraData validators differ from the current validator set")
    if extra.round != round_:
        raise InvalidHeader(f"extraData round {extra.round}, proposal round {round_}")
    if extra.seals:
        raise InvalidHeader("a proposed block carries no commit seals")
    if fields.coinbase not in set(ctx.validators):
        raise InvalidHeader("coinbase is not a validator")
    if fields.difficulty != DIFFICULTY or fields.nonce != NONCE or fields.mix_hash != MIX_HASH:
        raise InvalidHeader("difficulty, nonce or mixHash differ from the QBFT constants")
    period = config.empty_block_period if fields.is_empty else config.block_period
    if fields.timestamp < ctx.parent_timestamp + max(period, config.block_period):
        kind = "an empty" if fields.is_empty else "a"
        raise InvalidHeader(f"timestamp too early for {kind} block")
    if fields.timestamp > now + config.max_future_block_time:
        raise InvalidHeader("timestamp is in the future")
    return fields
