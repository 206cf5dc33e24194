"""Validator votes in headers: thresholds, epochs, discarded votes."""

from __future__ import annotations

import pytest

from chain.consensus.block_encoding import Vote
from chain.consensus.errors import InvalidHeader
from chain.consensus.voting import TallyState, apply_block, validate_vote

A, B, C, D, E = (bytes([i]) * 20 for i in range(1, 6))
FOUR = (A, B, C, D)
EPOCH = 100


def _fold(state: TallyState, votes: list[tuple[bytes, Vote | None]], start: int = 1) -> TallyState:
    for offset, (proposer, vote) in enumerate(votes):
        state = apply_block(state, start + offset, proposer, vote, EPOCH)
    return state


def test_adding_needs_more_than_half_of_the_validators() -> None:
    state = _fold(TallyState(FOUR), [(A, Vote(E, True)), (B, Vote(E, True))])
    assert state.validators == FOUR  # 2 of 4 is not more than half
    state = _fold(state, [(C, Vote(E, True))], start=3)
    assert state.validators == (A, B, C, D, E)
    assert state.votes == {}  # votes about E are discarded once applied


def test_a_voter_counts_once_and_its_latest_vote_wins() -> None:
    state = _fold(TallyState(FOUR), [(A, Vote(E, True)), (A, Vote(E, True)), (B, Vote(E, True))])
    assert state.validators == FOUR
    assert state.pending_tally() == {(E, True): 2}


def test_dropping_a_validator_discards_its_votes() -> None:
    state = _fold(TallyState(FOUR), [(D, Vote(E, True)), (A, Vote(D, False)), (B, Vote(D, False)), (C, Vote(D, False))])
    assert state.validators == (A, B, C)
    assert state.votes == {}


def test_one_validator_adds_a_second_alone_and_two_need_both_to_add_a_third() -> None:
    state = _fold(TallyState((A,)), [(A, Vote(B, True))])
    assert state.validators == (A, B)
    state = _fold(state, [(A, Vote(C, True))], start=2)
    assert state.validators == (A, B)
    state = _fold(state, [(B, Vote(C, True))], start=3)
    assert state.validators == (A, B, C)


def test_epoch_block_resets_pending_votes_and_may_not_vote() -> None:
    state = _fold(TallyState(FOUR), [(A, Vote(E, True)), (B, Vote(E, True))], start=EPOCH - 2)
    state = apply_block(state, EPOCH, C, None, EPOCH)
    assert state.votes == {}
    with pytest.raises(InvalidHeader, match="epoch block"):
        apply_block(state, 2 * EPOCH, C, Vote(E, True), EPOCH)


def test_votes_from_non_validators_are_ignored() -> None:
    state = _fold(TallyState(FOUR), [(E, Vote(E, True))])
    assert state.votes == {}


@pytest.mark.parametrize(
    ("vote", "message"),
    [(Vote(A, True), "already a validator"), (Vote(E, False), "not a validator")],
)
def test_pointless_votes_are_invalid_in_a_header(vote: Vote, message: str) -> None:
    with pytest.raises(InvalidHeader, match=message):
        validate_vote(vote, 5, FOUR, EPOCH)
