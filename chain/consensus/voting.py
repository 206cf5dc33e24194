"""Validator-set changes by votes in block headers (QBFT "header mode").

Each block may carry one vote from its proposer: add an address, or drop a
validator. Once more than half of the current validators have cast the same
vote on a candidate (their latest vote on it counts), the set changes at the
next block, and every vote about that candidate is discarded. Tallies reset at
every epoch block (number % epoch_length == 0), which carries no vote.

Pure rules over frozen data: the chain folds ``apply_block`` over its headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from chain.consensus.block_encoding import Vote
from chain.consensus.errors import InvalidHeader


@dataclass(frozen=True)
class TallyState:
    """The validator set after a block, and the votes pending in the epoch."""

    validators: tuple[bytes, ...]  # sorted
    # (voter, candidate) -> True add / False drop; the voter's latest vote on it
    votes: dict[tuple[bytes, bytes], bool] = field(default_factory=dict)

    def pending_tally(self) -> dict[tuple[bytes, bool], int]:
        counts: dict[tuple[bytes, bool], int] = {}
        for (_, candidate), add in self.votes.items():
            counts[(candidate, add)] = counts.get((candidate, add), 0) + 1
        return counts


def is_epoch_block(number: int, epoch_length: int) -> bool:
    return number % epoch_length == 0


def validate_vote(vote: Vote | None, number: int, validators: tuple[bytes, ...], epoch_length: int) -> None:
    """Raise InvalidHeader for a vote a block at ``number`` may not carry."""
    if vote is None:
        return
    if is_epoch_block(number, epoch_length):
        raise InvalidHeader(f"block {number} is an epoch block and may not carry a vote")
    if vote.add and vote.address in validators:
        raise InvalidHeader(f"vote to add 0x{vote.address.hex()}, already a validator")
    if not vote.add and vote.address not in validators:
        raise InvalidHeader(f"vote to drop 0x{vote.address.hex()}, which is not a validator")


def apply_block(
    state: TallyState, number: int, proposer: bytes, vote: Vote | None, epoch_length: int
) -> TallyState:
    """The tally after block ``number`` proposed by ``proposer`` with ``vote``."""
    validate_vote(vote, number, state.validators, epoch_length)
    if is_epoch_block(number, epoch_length):
        return TallyState(state.validators, {})
    if vote is None or proposer not in state.validators:
        return state
    votes = dict(state.votes)
    votes[(proposer, vote.address)] = vote.add
    agreeing = sum(1 for (_, c), add in votes.items() if c == vote.address and add == vote.add)
    if agreeing * 2 <= len(state.validators):
        return TallyState(state.validators, votes)
    members = set(state.validators)
    if vote.add:
        members.add(vote.address)
    else:
        members.discard(vote.address)
    remaining = {
        (voter, candidate): add
        for (voter, candidate), add in votes.items()
        if candidate != vote.address and voter in members
    }
    return TallyState(tuple(sorted(members)), remaining)


def is_vote_meaningful(vote: Vote, validators: tuple[bytes, ...]) -> bool:
    return (vote.address not in validators) if vote.add else (vote.address in validators)
