"""The state machine driven directly: rules, timers, buffering, rejection."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest
from eth_hash.auto import keccak

from chain.consensus.block_encoding import (
    EMPTY_TRIE_ROOT,
    QbftExtraData,
    block_hash,
    chain_hash,
    header_fields,
    validate_finalized_header,
)
from chain.consensus.core import QbftCore
from chain.consensus.crypto import address_of
from chain.consensus.errors import InvalidChainHead, InvalidConfig
from chain.consensus.events import (
    BlockBuilt,
    Broadcast,
    BuildBlock,
    ChainHead,
    CommitBlock,
    Effect,
    MessageReceived,
    NewChainHead,
    QbftConfig,
    RoundChanged,
    Tick,
)
from chain.consensus.messages import (
    Proposal,
    ProposedBlock,
    RoundChange,
    build_prepare,
    build_proposal,
    decode_message,
)
from tests.consensus.simulation import ZERO32, genesis_header, make_header

CONFIG = QbftConfig(
    block_period=1.0,
    empty_block_period=10.0,
    request_timeout=2.0,
    max_round_timeout=10.0,
    future_message_buffer=64,
    round_change_rebroadcast=3.0,
)


def build(
    request: BuildBlock, coinbase: bytes, validators: tuple[bytes, ...], body: bytes
) -> ProposedBlock:
    extra = QbftExtraData(ZERO32, validators, None, 0, ()).encode()
    header = make_header(
        parent_hash=request.parent_hash,
        coinbase=coinbase,
        number=request.height,
        timestamp=request.timestamp,
        extra=extra,
        transaction_root=keccak(body) if body else EMPTY_TRIE_ROOT,
    )
    return ProposedBlock(header, body)


class Cluster:
    """N cores on a synchronous, lossless flood network (tests choose who listens)."""

    def __init__(self, n: int, validator: bool = True) -> None:
        self.keys = [bytes([i + 1]) * 32 for i in range(n)]
        self.validators = tuple(sorted(address_of(k) for k in self.keys))
        self.keys.sort(key=address_of)  # keys[i] is validators[i]
        self.genesis = genesis_header(self.validators)
        head = ChainHead(self.genesis, self.validators, b"\x00" * 20)
        self.verdict = validator
        self.cores = [QbftCore(CONFIG, k, head, lambda b: self.verdict) for k in self.keys]
        self.commits: dict[int, CommitBlock] = {}

    def step(self, i: int, event: object, listeners: set[int] | None = None) -> list[Effect]:
        effects = self.cores[i].handle(event)  # type: ignore[arg-type]
        self.spread(i, effects, event.now, listeners)  # type: ignore[attr-defined]
        return effects

    def spread(
        self, src: int, effects: list[Effect], now: float, listeners: set[int] | None
    ) -> None:
        for effect in effects:
            if isinstance(effect, CommitBlock):
                self.commits[src] = effect
            elif isinstance(effect, BuildBlock):
                block = build(effect, self.cores[src].address, self.validators, b"tx")
                self.step(src, BlockBuilt(block, now), listeners)
            elif isinstance(effect, Broadcast):
                for dst in range(len(self.cores)):
                    if dst != src and (listeners is None or dst in listeners):
                        self.step(dst, MessageReceived(effect.raw, now), listeners)


def test_single_validator_proposes_prepares_commits_alone() -> None:
    cluster = Cluster(1)
    core = cluster.cores[0]
    assert core.handle(Tick(0.5, True)) == []
    effects = core.handle(Tick(1.0, True))
    assert effects == [BuildBlock(1, 0, chain_hash(cluster.genesis), 1)]
    block = build(effects[0], core.address, cluster.validators, b"tx")  # type: ignore[arg-type]
    effects = core.handle(BlockBuilt(block, 1.1))
    kinds = [type(decode_message(e.raw)).__name__ for e in effects if isinstance(e, Broadcast)]
    assert kinds == ["Proposal", "Prepare", "Commit"]
    (commit,) = [e for e in effects if isinstance(e, CommitBlock)]
    validate_finalized_header(commit.header_rlp, cluster.validators)
    assert block_hash(commit.header_rlp) == block_hash(block.header_rlp)
    assert commit.body == b"tx" and core.round_state().finalized
    head = ChainHead(commit.header_rlp, cluster.validators, core.address)
    assert core.handle(NewChainHead(head, 1.2)) == [RoundChanged(2, 0)]
    assert core.round_state().height == 2 and not core.round_state().finalized


def test_four_validators_finalize_in_round_zero_with_sorted_seals() -> None:
    cluster = Cluster(4)
    proposer = cluster.cores[0].round_state().proposer
    cluster.step(cluster.validators.index(proposer), Tick(1.0, True))
    assert set(cluster.commits) == {0, 1, 2, 3}
    header = cluster.commits[0].header_rlp
    seals = header_fields(header).extra.seals
    assert list(seals) == sorted(seals) and len(seals) >= 3
    assert len({block_hash(c.header_rlp) for c in cluster.commits.values()}) == 1


def test_idle_chain_waits_for_the_empty_block_period() -> None:
    cluster = Cluster(4)
    index = cluster.validators.index(cluster.cores[0].round_state().proposer)
    proposer, other = cluster.cores[index], cluster.cores[(index + 1) % 4]
    assert proposer.handle(Tick(9.9, False)) == []
    assert [type(e) for e in proposer.handle(Tick(10.0, False))] == [BuildBlock]
    # Round 0 times out at parent.ts + empty_block_period + request_timeout.
    assert other.handle(Tick(0.0, False)) == []
    assert other.handle(Tick(11.9, False)) == []
    assert other.round_state().next_timeout == 12.0
    effects = other.handle(Tick(12.0, False))
    assert effects[0] == RoundChanged(1, 1)
    assert isinstance(decode_message(effects[1].raw), RoundChange)  # type: ignore[union-attr]


def test_pending_transactions_shorten_round_zero() -> None:
    core = Cluster(4).cores[1]
    core.handle(Tick(0.0, True))
    assert core.round_state().next_timeout == 3.0  # 0 + block_period + request_timeout


def started(core: QbftCore) -> QbftCore:
    """A core whose height began at time 0 (the first event starts the clock)."""
    core.handle(Tick(0.0, True))
    return core


def test_a_late_start_delays_round_zero_timeout() -> None:
    # A node (re)started long after the parent block does not churn round changes.
    core = Cluster(4).cores[1]
    core.handle(Tick(100.0, True))
    assert core.round_state().next_timeout == 102.0


def test_round_timeouts_double_and_are_capped() -> None:
    core = started(Cluster(4).cores[1])
    now, expiries = 0.0, []
    for _ in range(5):
        now = core.round_state().next_timeout or 0.0
        core.handle(Tick(now, True))
        expiries.append((core.round_state().next_timeout or 0.0) - now)
    assert expiries == [4.0, 8.0, 10.0, 10.0, 10.0]
    assert core.round_state().round == 5


def test_round_change_is_rebroadcast() -> None:
    core = started(Cluster(4).cores[1])
    core.handle(Tick(3.0, True))  # round 1, ROUND_CHANGE sent
    assert core.handle(Tick(4.0, True)) == []
    effects = core.handle(Tick(6.0, True))
    assert len(effects) == 1 and isinstance(decode_message(effects[0].raw), RoundChange)  # type: ignore[union-attr]


def test_f_plus_one_round_changes_pull_a_node_forward() -> None:
    cluster = Cluster(4)
    for i in (1, 2):
        started(cluster.cores[i]).handle(Tick(3.0, True))
        cluster.cores[i].handle(Tick(7.0, True))  # round 2
    laggard = started(cluster.cores[3])
    for i in (1, 2):
        rc = cluster.cores[i]._my_round_change
        assert rc is not None
        laggard.handle(MessageReceived(rc.raw, 7.5))
    assert laggard.round_state().round == 2


def test_one_round_change_from_a_single_node_does_not() -> None:
    cluster = Cluster(4)
    started(cluster.cores[1]).handle(Tick(3.0, True))
    rc = cluster.cores[1]._my_round_change
    assert rc is not None
    cluster.cores[3].handle(MessageReceived(rc.raw, 3.5))
    assert cluster.cores[3].round_state().round == 0


def snapshot(core: QbftCore) -> dict[str, Any]:
    """Every attribute of the core and its message log, deep-copied."""
    state = {k: v for k, v in vars(core).items() if k not in ("_block_validator", "_log")}
    state["_log"] = {k: v for k, v in vars(core._log).items() if k != "_ctx"}
    return copy.deepcopy(state)


def proposal_for(
    cluster: Cluster,
    *,
    timestamp: int = 1,
    coinbase: bytes | None = None,
    key: bytes | None = None,
    round_: int = 0,
) -> Proposal:
    index = cluster.validators.index(cluster.cores[0].round_state().proposer)
    request = BuildBlock(1, 0, chain_hash(cluster.genesis), timestamp)
    block = build(request, coinbase or cluster.validators[index], cluster.validators, b"tx")
    return build_proposal(key or cluster.keys[index], 1, round_, block, (), ())


@pytest.mark.parametrize(
    ("changes", "verdict"),
    [
        ({"key": bytes([9]) * 32}, True),  # not a validator
        ({"timestamp": 0}, True),  # before parent + block_period
        ({"timestamp": 30}, True),  # too far in the future
        ({"round_": 1}, True),  # round > 0 without justification
        ({"coinbase": b"\x01" * 20}, True),
        ({}, False),  # the block validator says no
    ],
)
def test_rejected_proposal_leaves_the_state_unchanged(
    changes: dict[str, Any], verdict: bool
) -> None:
    cluster = Cluster(4)
    cluster.verdict = verdict
    proposal = proposal_for(cluster, **changes)
    members = cluster.validators
    index = members.index(proposal.author) if proposal.author in members else 0
    target = cluster.cores[(index + 1) % 4]
    target.handle(Tick(1.0, True))
    before = snapshot(target)
    assert target.handle(MessageReceived(proposal.raw, 1.5)) == []
    assert snapshot(target) == before


def test_valid_proposal_is_prepared_and_duplicates_ignored() -> None:
    cluster = Cluster(4)
    proposal = proposal_for(cluster)
    target = cluster.cores[(cluster.validators.index(proposal.author) + 1) % 4]
    effects = target.handle(MessageReceived(proposal.raw, 1.5))
    assert len(effects) == 1 and decode_message(effects[0].raw).round == 0  # type: ignore[union-attr]
    assert target.round_state().accepted_proposal_hash == block_hash(proposal.block.header_rlp)
    assert target.handle(MessageReceived(proposal.raw, 1.6)) == []


def test_conflicting_prepare_from_the_same_author_counts_once() -> None:
    cluster = Cluster(4)
    proposal = proposal_for(cluster)
    digest = block_hash(proposal.block.header_rlp)
    target_index = (cluster.validators.index(proposal.author) + 1) % 4
    target = cluster.cores[target_index]
    target.handle(MessageReceived(proposal.raw, 1.5))
    other = (target_index + 1) % 4
    first = build_prepare(cluster.keys[other], 1, 0, b"\x01" * 32)
    second = build_prepare(cluster.keys[other], 1, 0, digest)
    target.handle(MessageReceived(first.raw, 1.6))
    assert target.handle(MessageReceived(second.raw, 1.7)) == []
    assert cluster.validators[other] not in target.round_state().prepares_from


def test_future_height_messages_are_buffered_and_replayed() -> None:
    cluster = Cluster(4)
    start = cluster.validators.index(cluster.cores[0].round_state().proposer)
    late = (start + 3) % 4  # not the proposer of height 1 or 2
    others = {i for i in range(4) if i != late}
    cluster.step(start, Tick(1.0, True), listeners=others)
    assert set(cluster.commits) == others
    block1 = cluster.commits[start]
    cluster.commits.clear()
    for i in others:
        head = ChainHead(block1.header_rlp, cluster.validators, cluster.validators[start])
        cluster.cores[i].handle(NewChainHead(head, 1.2))
    proposer2 = cluster.validators.index(cluster.cores[start].round_state().proposer)
    cluster.step(proposer2, Tick(2.0, True))  # `late`, still at height 1, buffers height 2
    assert late not in cluster.commits
    head = ChainHead(block1.header_rlp, cluster.validators, cluster.validators[start])
    effects = cluster.cores[late].handle(NewChainHead(head, 2.5))
    assert any(isinstance(e, CommitBlock) for e in effects)


def test_removing_the_validator_due_to_propose_next_does_not_stall() -> None:
    cluster = Cluster(4)
    everyone = cluster.validators
    start = everyone.index(cluster.cores[0].round_state().proposer)
    cluster.step(start, Tick(1.0, True))
    block1 = cluster.commits[start]
    removed = (start + 1) % 4  # proposer(0) of height 2 under the old set
    remaining = tuple(v for i, v in enumerate(everyone) if i != removed)
    head = ChainHead(block1.header_rlp, remaining, everyone[start])
    for core in cluster.cores:
        core.handle(NewChainHead(head, 1.2))
    cluster.validators = remaining  # blocks now list the new set in extraData
    cluster.commits.clear()
    proposer = cluster.cores[start].round_state().proposer
    assert proposer == everyone[(start + 2) % 4]
    cluster.step(everyone.index(proposer), Tick(2.0, True))
    assert {i for i in range(4) if i != removed} <= set(cluster.commits)
    validate_finalized_header(cluster.commits[start].header_rlp, remaining)


@pytest.mark.parametrize(
    "changes",
    [
        {"block_period": 0.0},
        {"empty_block_period": -1.0},
        {"request_timeout": 0.0},
        {"max_round_timeout": 1.0},  # below request_timeout
        {"round_change_rebroadcast": 0.0},
        {"future_message_buffer": -1},
    ],
)
def test_invalid_config_is_refused(changes: dict[str, Any]) -> None:
    with pytest.raises(InvalidConfig):
        dataclasses.replace(CONFIG, **changes)


def test_unsorted_validator_set_is_refused() -> None:
    cluster = Cluster(4)
    head = ChainHead(cluster.genesis, tuple(reversed(cluster.validators)), b"\x00" * 20)
    with pytest.raises(InvalidChainHead):
        QbftCore(CONFIG, cluster.keys[0], head, lambda b: True)
