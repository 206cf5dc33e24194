"""The QBFT state machine (EEA QBFT spec rules 1-7), sans-IO.

``QbftCore.handle(event)`` returns effects; the core never reads a clock, sends a
packet or touches storage. A message that fails validation leaves the state as it
was. Own messages are processed internally, never through loopback.
"""

from __future__ import annotations

from dataclasses import dataclass

from eth_hash.auto import keccak

from chain.consensus.block_encoding import (
    block_hash,
    chain_hash,
    commit_seal_hash,
    head_number_and_timestamp,
    header_fields,
    with_round_and_seals,
)
from chain.consensus.crypto import address_of, sign
from chain.consensus.errors import ConsensusError, InvalidChainHead, InvalidMessage
from chain.consensus.events import (
    BlockBuilt,
    BlockValidator,
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
from chain.consensus.message_log import MessageLog
from chain.consensus.messages import (
    MAX_MESSAGE_SIZE,
    Commit,
    Message,
    Prepare,
    Proposal,
    ProposedBlock,
    RoundChange,
    build_commit,
    build_prepare,
    build_proposal,
    build_round_change,
    decode_message,
)
from chain.consensus.timing import (
    block_timestamp,
    earliest_block_time,
    round_timeout,
    round_zero_start,
)
from chain.consensus.validation import (
    HeightContext,
    validate_proposal_justification,
    validate_proposed_header,
)

_SEEN_LIMIT = 20_000
_DIGEST_CACHE_LIMIT = 1_024


@dataclass(frozen=True)
class _Prepared:
    round: int
    digest: bytes
    block: ProposedBlock
    prepares: tuple[Prepare, ...]


class QbftCore:
    """One validator's QBFT state machine for the height above ``head``."""

    _height_started_at: float | None  # first event time at this height (None: not yet)

    def __init__(
        self,
        config: QbftConfig,
        private_key: bytes,
        head: ChainHead,
        block_validator: BlockValidator,
    ) -> None:
        self._config = config
        self._key = private_key
        self._address = address_of(private_key)
        self._block_validator = block_validator
        self._future: list[tuple[int, bytes, bytes]] = []  # (height, author, raw)
        self._start_height(head, None)

    # --- public -----------------------------------------------------------------

    @property
    def address(self) -> bytes:
        return self._address

    @property
    def height(self) -> int:
        return self._ctx.height

    @property
    def round(self) -> int:
        return self._round

    def handle(self, event: Event) -> list[Effect]:
        out: list[Effect] = []
        if self._height_started_at is None:
            self._height_started_at = event.now
        if isinstance(event, Tick):
            self._on_tick(event.now, event.pool_has_transactions, out)
        elif isinstance(event, MessageReceived):
            self._on_raw(event.raw, event.now, out)
        elif isinstance(event, BlockBuilt):
            self._on_block_built(event.block, event.now, out)
        elif isinstance(event, NewChainHead):
            self._on_new_head(event.head, event.now, out)
        return out

    def round_state(self) -> RoundState:
        accepted = self._accepted
        digest = self._digest(accepted.block) if accepted is not None else None
        return RoundState(
            height=self._ctx.height,
            round=self._round,
            proposer=self._ctx.proposer(self._round),
            accepted_proposal_hash=digest,
            prepared_round=self._prepared.round if self._prepared else None,
            prepares_from=self._log.prepare_authors(self._round, digest) if digest else (),
            commits_from=self._log.commit_authors(self._round),
            round_changes_from=tuple(
                sorted(a for a, rc in self._log.round_changes.items() if rc.round >= self._round)
            ),
            next_timeout=None if self._finalized else self._round_expiry(),
            finalized=self._finalized,
        )

    # --- height lifecycle -------------------------------------------------------------

    def _start_height(self, head: ChainHead, now: float | None) -> None:
        if list(head.validators) != sorted(set(head.validators)) or not head.validators:
            raise InvalidChainHead("validators must be non-empty, sorted and distinct")
        number, timestamp = head_number_and_timestamp(head.header_rlp)
        self._head = head
        self._ctx = HeightContext(
            height=number + 1,
            parent_hash=chain_hash(head.header_rlp),
            parent_timestamp=timestamp,
            parent_proposer=head.proposer,
            validators=head.validators,
        )
        self._members = frozenset(head.validators)
        self._is_validator = self._address in self._members
        self._height_started_at = now
        self._round = 0
        self._round_started_at: float | None = now
        self._pool_has_transactions = False
        self._accepted: Proposal | None = None
        self._accepted_blocks: dict[int, ProposedBlock] = {}
        self._digests: dict[bytes, bytes] = {}  # header_rlp -> block hash
        self._prepared: _Prepared | None = None
        self._log = MessageLog(self._ctx, self._config.future_round_window)
        self._commit_sent: set[int] = set()
        self._proposed: set[int] = set()
        self._want_proposal_round: int | None = None  # waiting for a block to propose
        self._build_requested: tuple[int, int] | None = None  # (round, timestamp)
        self._built: ProposedBlock | None = None
        self._wait_empty_period = False
        self._my_round_change: RoundChange | None = None
        self._last_round_change_sent = 0.0
        self._finalized = False
        self._seen: set[bytes] = set()

    def _on_new_head(self, head: ChainHead, now: float, out: list[Effect]) -> None:
        number, _ = head_number_and_timestamp(head.header_rlp)
        if number < self._ctx.height:
            return  # stale or already our head
        self._start_height(head, now)
        out.append(RoundChanged(self._ctx.height, 0))
        pending, self._future = self._future, []
        for height, author, raw in pending:
            if height > self._ctx.height:
                self._future.append((height, author, raw))
        for height, _, raw in pending:
            if height == self._ctx.height:
                self._on_raw(raw, now, out)
        self._maybe_propose(now, out)

    # --- timers -------------------------------------------------------------------

    def _round_expiry(self) -> float:
        if self._round == 0:
            start = round_zero_start(
                self._config,
                self._ctx.parent_timestamp,
                self._pool_has_transactions,
                self._height_started_at,
            )
        else:
            start = self._round_started_at or 0.0
        return start + round_timeout(self._config, self._round)

    def _on_tick(self, now: float, pool_has_transactions: bool, out: list[Effect]) -> None:
        self._pool_has_transactions = pool_has_transactions
        if self._finalized:
            return
        if now >= self._round_expiry():
            self._enter_round(self._round + 1, now, out)
            self._send_round_change(now, out)
            self._check_round_change_quorum(now, out)
        elif (
            self._my_round_change is not None
            and self._accepted is None
            and now - self._last_round_change_sent >= self._config.round_change_rebroadcast
        ):
            out.append(Broadcast(self._my_round_change.raw))
            self._last_round_change_sent = now
        self._maybe_propose(now, out)

    def _enter_round(self, round_: int, now: float, out: list[Effect]) -> None:
        self._round = round_
        self._round_started_at = now
        self._accepted = None
        if self._want_proposal_round is not None and self._want_proposal_round < round_:
            self._want_proposal_round = None
        # A block others refused must not come back: every round builds afresh.
        self._built = None
        self._build_requested = None
        out.append(RoundChanged(self._ctx.height, round_))

    # --- messages in --------------------------------------------------------------

    def _on_raw(self, raw: bytes, now: float, out: list[Effect]) -> None:
        if len(raw) > MAX_MESSAGE_SIZE:
            return
        key = keccak(raw)
        if key in self._seen:
            return
        try:
            message = decode_message(raw, is_known_author=self._is_known_author)
        except ConsensusError:
            return
        if message.height < self._ctx.height:
            return
        if message.height > self._ctx.height:
            self._buffer_future(message, raw)
            return
        if self._finalized or message.author not in self._members:
            return
        if message.author == self._address:
            return  # our own messages were processed when sent
        if self._process(message, now, out):
            if len(self._seen) >= _SEEN_LIMIT:
                self._seen.clear()
            self._seen.add(key)

    def _is_known_author(self, height: int, author: bytes) -> bool:
        # Future heights may have another validator set: their authors are checked on replay.
        return height != self._ctx.height or author in self._members

    def _buffer_future(self, message: Message, raw: bytes) -> None:
        limit = self._config.future_message_buffer
        per_author = max(1, limit // max(1, len(self._ctx.validators)))
        if message.height > self._ctx.height + 8 or len(self._future) >= limit:
            return
        if sum(1 for _, a, _ in self._future if a == message.author) >= per_author:
            return
        if any(r == raw for _, _, r in self._future):
            return
        self._future.append((message.height, message.author, raw))

    def _process(self, message: Message, now: float, out: list[Effect]) -> bool:
        """Apply a decoded message at the current height; False if rejected."""
        if isinstance(message, Proposal):
            return self._on_proposal(message, now, out)
        if isinstance(message, Prepare):
            return self._on_prepare(message, now, out)
        if isinstance(message, Commit):
            return self._on_commit(message, out)
        return self._on_round_change(message, now, out)

    def _digest(self, block: ProposedBlock) -> bytes:
        digest = self._digests.get(block.header_rlp)
        if digest is None:
            if len(self._digests) >= _DIGEST_CACHE_LIMIT:
                self._digests.clear()
            digest = block_hash(block.header_rlp)
            self._digests[block.header_rlp] = digest
        return digest

    # Rule 2.
    def _on_proposal(self, proposal: Proposal, now: float, out: list[Effect]) -> bool:
        if proposal.round < self._round or proposal.round in self._accepted_blocks:
            return False
        if self._accepted is not None and proposal.round <= self._round:
            return False
        try:
            self._validate_proposal(proposal, now)
        except ConsensusError:
            return False
        if proposal.round > self._round:
            self._enter_round(proposal.round, now, out)
        self._accepted = proposal
        self._accepted_blocks[proposal.round] = proposal.block
        if self._is_validator:
            prepare = build_prepare(
                self._key, self._ctx.height, proposal.round, self._digest(proposal.block)
            )
            out.append(Broadcast(prepare.raw))
            self._on_prepare(prepare, now, out)
        self._check_committed(out)
        return True

    def _validate_proposal(self, proposal: Proposal, now: float) -> None:
        if proposal.author != self._ctx.proposer(proposal.round):
            raise InvalidMessage("PROPOSAL not from the round's proposer")
        fields = validate_proposed_header(
            proposal.block, proposal.round, self._ctx, self._config, now
        )
        required = validate_proposal_justification(proposal, self._ctx)
        if required is None:
            if fields.coinbase != proposal.author:
                raise InvalidMessage("a fresh block's coinbase must be its proposer")
        elif self._digest(proposal.block) != required:
            raise InvalidMessage("PROPOSAL must re-propose the highest prepared block")
        if proposal.author != self._address and not self._block_validator(proposal.block):
            raise InvalidMessage("the block validator rejected the block's content")

    # Rule 3.
    def _on_prepare(self, prepare: Prepare, now: float, out: list[Effect]) -> bool:
        if not self._log.add_prepare(prepare, self._round):
            return False
        self._check_prepared(out)
        return True

    def _check_prepared(self, out: list[Effect]) -> None:
        accepted = self._accepted
        if accepted is None or accepted.round in self._commit_sent:
            return
        digest = self._digest(accepted.block)
        matching = self._log.prepare_quorum(accepted.round, digest)
        if matching is None:
            return
        self._prepared = _Prepared(accepted.round, digest, accepted.block, matching)
        self._commit_sent.add(accepted.round)
        if not self._is_validator:
            return
        seal = sign(self._key, commit_seal_hash(accepted.block.header_rlp))
        commit = build_commit(self._key, self._ctx.height, accepted.round, digest, seal)
        out.append(Broadcast(commit.raw))
        self._on_commit(commit, out)

    # Rule 4.
    def _on_commit(self, commit: Commit, out: list[Effect]) -> bool:
        if not self._log.add_commit(commit, self._round):
            return False
        self._check_committed(out)
        return True

    def _check_committed(self, out: list[Effect]) -> None:
        if self._finalized:
            return
        for round_, block in self._accepted_blocks.items():
            seals = self._log.valid_seals(round_, block, self._digest(block))
            if len(seals) >= self._ctx.quorum:
                header = with_round_and_seals(block.header_rlp, round_, seals)
                self._finalized = True
                out.append(CommitBlock(header, block.body))
                return

    # Rules 6 and 7.
    def _on_round_change(self, message: RoundChange, now: float, out: list[Effect]) -> bool:
        if not self._log.add_round_change(message):
            return False
        self._check_round_change_quorum(now, out)
        self._check_catch_up(now, out)
        return True

    def _send_round_change(self, now: float, out: list[Effect]) -> None:
        if not self._is_validator:
            return
        prepared = self._prepared
        message = build_round_change(
            self._key,
            self._ctx.height,
            self._round,
            None
            if prepared is None
            else (prepared.round, prepared.digest, prepared.block, prepared.prepares),
        )
        self._log.round_changes[self._address] = message
        self._my_round_change = message
        self._last_round_change_sent = now
        out.append(Broadcast(message.raw))

    def _check_catch_up(self, now: float, out: list[Effect]) -> None:
        if not self._config.round_change_catch_up:
            return
        target = self._log.catch_up_round(self._round, self._address)
        if target is None:
            return
        self._enter_round(target, now, out)
        self._send_round_change(now, out)
        self._check_round_change_quorum(now, out)

    def _check_round_change_quorum(self, now: float, out: list[Effect]) -> None:
        if not self._is_validator:
            return
        for round_ in self._log.rounds_with_quorum(self._round):
            if self._ctx.proposer(round_) != self._address or round_ in self._proposed:
                continue
            if round_ == self._round and self._accepted is not None:
                continue
            if round_ > self._round:
                self._enter_round(round_, now, out)
            self._want_proposal_round = round_
            self._maybe_propose(now, out)
            return

    # --- proposing (rules 1 and 7) --------------------------------------------------

    def _maybe_propose(self, now: float, out: list[Effect]) -> None:
        if self._finalized or not self._is_validator or self._accepted is not None:
            return
        round_ = self._round
        if round_ == 0 and self._ctx.proposer(0) == self._address:
            self._want_proposal_round = 0
        if self._want_proposal_round != round_ or round_ in self._proposed:
            return
        round_changes = self._log.round_changes_for(round_)
        prepared = [rc for rc in round_changes if rc.prepared_round is not None]
        if prepared:
            highest = max(prepared, key=lambda rc: rc.prepared_round or 0)
            if highest.prepared_block is None:
                return
            block = highest.prepared_block
            prepares: tuple[Prepare, ...] = highest.prepares
        else:
            if not self._ensure_built(now, out) or self._built is None:
                return
            block = self._built
            prepares = ()
        block = ProposedBlock(with_round_and_seals(block.header_rlp, round_, ()), block.body)
        proposal = build_proposal(
            self._key,
            self._ctx.height,
            round_,
            block,
            round_changes if round_ > 0 else (),
            prepares,
        )
        self._proposed.add(round_)
        effects: list[Effect] = []
        if self._on_proposal(proposal, now, effects):
            out.append(Broadcast(proposal.raw))  # before our PREPARE, so peers see it first
        out.extend(effects)

    def _ensure_built(self, now: float, out: list[Effect]) -> bool:
        """True when ``self._built`` is ready; otherwise request a build."""
        if self._built is not None:
            return True
        earliest = earliest_block_time(
            self._config,
            self._ctx.parent_timestamp,
            now,
            self._pool_has_transactions,
            self._wait_empty_period,
        )
        if earliest is None or self._build_requested is not None:
            return False
        timestamp = block_timestamp(now, earliest)
        self._build_requested = (self._round, timestamp)
        out.append(BuildBlock(self._ctx.height, self._round, self._ctx.parent_hash, timestamp))
        return False

    def _on_block_built(self, block: ProposedBlock, now: float, out: list[Effect]) -> None:
        if self._build_requested is None or self._finalized:
            return
        try:
            fields = header_fields(block.header_rlp)
        except ConsensusError:
            self._build_requested = None
            return
        if fields.number != self._ctx.height or fields.parent_hash != self._ctx.parent_hash:
            return  # built on an old head
        self._build_requested = None
        if fields.coinbase != self._address:
            return
        parent = self._ctx.parent_timestamp
        if fields.is_empty and fields.timestamp < parent + self._config.empty_block_period:
            self._wait_empty_period = True  # rebuild once an empty block is allowed
            return
        self._built = block
        self._maybe_propose(now, out)
