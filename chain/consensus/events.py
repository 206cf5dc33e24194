"""What goes in and out of the QBFT core: configuration, events, effects, snapshots."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from chain.consensus.errors import InvalidConfig
from chain.consensus.messages import ProposedBlock


@dataclass(frozen=True)
class QbftConfig:
    block_period: float  # seconds between a parent's timestamp and the next block
    empty_block_period: float  # the same when the block would be empty
    request_timeout: float  # round-0 timeout; round r waits request_timeout * 2**r
    max_round_timeout: float  # cap on a round's timeout
    future_message_buffer: int  # messages kept for future heights
    round_change_rebroadcast: float  # re-send my latest ROUND_CHANGE this often
    max_future_block_time: float = 2.0  # how far ahead of `now` a proposed timestamp may be
    round_change_catch_up: bool = True  # rule 7b: follow f+1 ROUND_CHANGEs of higher rounds
    future_round_window: int = 16  # PREPAREs/COMMITs kept for rounds up to mine + this

    def __post_init__(self) -> None:
        if self.block_period <= 0 or self.empty_block_period <= 0:
            raise InvalidConfig("block_period and empty_block_period must be positive")
        if not 0 < self.request_timeout <= self.max_round_timeout:
            raise InvalidConfig("need 0 < request_timeout <= max_round_timeout")
        if self.round_change_rebroadcast <= 0 or self.max_future_block_time < 0:
            raise InvalidConfig("round_change_rebroadcast must be positive")
        if self.future_message_buffer < 0 or self.future_round_window < 0:
            raise InvalidConfig("buffer sizes must not be negative")


@dataclass(frozen=True)
class ChainHead:
    header_rlp: bytes
    validators: tuple[bytes, ...]  # sorted; the set that validates the NEXT height
    proposer: bytes  # coinbase of the head block


class BlockValidator(Protocol):
    """Port: does this block's content execute and obey the chain's rules?"""

    def __call__(self, block: ProposedBlock, /) -> bool: ...


# --- events ------------------------------------------------------------------


@dataclass(frozen=True)
class Tick:
    now: float
    pool_has_transactions: bool


@dataclass(frozen=True)
class MessageReceived:
    raw: bytes
    now: float


@dataclass(frozen=True)
class BlockBuilt:
    block: ProposedBlock
    now: float


@dataclass(frozen=True)
class NewChainHead:
    head: ChainHead
    now: float


Event = Tick | MessageReceived | BlockBuilt | NewChainHead


# --- effects -----------------------------------------------------------------


@dataclass(frozen=True)
class Broadcast:
    raw: bytes


@dataclass(frozen=True)
class BuildBlock:
    height: int
    round: int
    parent_hash: bytes
    timestamp: int


@dataclass(frozen=True)
class CommitBlock:
    header_rlp: bytes
    body: bytes


@dataclass(frozen=True)
class RoundChanged:
    height: int
    round: int


Effect = Broadcast | BuildBlock | CommitBlock | RoundChanged


@dataclass(frozen=True)
class RoundState:
    """Read-only snapshot for the round-state RPC and metrics."""

    height: int
    round: int
    proposer: bytes
    accepted_proposal_hash: bytes | None
    prepared_round: int | None
    prepares_from: tuple[bytes, ...]  # for the accepted proposal in this round
    commits_from: tuple[bytes, ...]  # for this round
    round_changes_from: tuple[bytes, ...]  # latest ROUND_CHANGE at this round or above
    next_timeout: float | None
    finalized: bool  # CommitBlock emitted, waiting for NewChainHead
