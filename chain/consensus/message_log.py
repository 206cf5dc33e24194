"""The messages one validator holds at one height: bounded, one vote per author.

The first PREPARE or COMMIT of an author for a round counts and later ones are
refused, so an equivocating author cannot vote twice; ROUND_CHANGEs keep only each
author's latest (highest-round) one, which bounds the log by the validator count.
"""

from __future__ import annotations

from chain.consensus.block_encoding import commit_seal_hash, max_faulty
from chain.consensus.crypto import recover_address
from chain.consensus.errors import ConsensusError
from chain.consensus.messages import Commit, Prepare, ProposedBlock, RoundChange
from chain.consensus.validation import HeightContext, prepare_authors, validate_round_change


class MessageLog:
    def __init__(self, ctx: HeightContext, future_round_window: int) -> None:
        self._ctx = ctx
        self._window = future_round_window
        self._prepares: dict[int, dict[bytes, Prepare]] = {}
        self._commits: dict[int, dict[bytes, Commit]] = {}
        self._seal_ok: dict[tuple[int, bytes], bool] = {}
        self.round_changes: dict[bytes, RoundChange] = {}  # latest per author

    # --- adding (False: refused, the log is unchanged) --------------------------------

    def add_prepare(self, prepare: Prepare, current_round: int) -> bool:
        if prepare.round > current_round + self._window:
            return False
        by_author = self._prepares.setdefault(prepare.round, {})
        if prepare.author in by_author:
            return False
        by_author[prepare.author] = prepare
        return True

    def add_commit(self, commit: Commit, current_round: int) -> bool:
        if commit.round > current_round + self._window:
            return False
        by_author = self._commits.setdefault(commit.round, {})
        if commit.author in by_author:
            return False
        by_author[commit.author] = commit
        return True

    def add_round_change(self, message: RoundChange) -> bool:
        previous = self.round_changes.get(message.author)
        if previous is not None and previous.round >= message.round:
            return False
        try:
            validate_round_change(message, self._ctx)
        except ConsensusError:
            return False
        self.round_changes[message.author] = message
        return True

    # --- queries ---------------------------------------------------------------------

    def prepare_quorum(self, round_: int, digest: bytes) -> tuple[Prepare, ...] | None:
        """The matching PREPAREs of (round, digest) once they reach a quorum."""
        prepares = self._prepares.get(round_, {}).values()
        if len(prepare_authors(prepares, self._ctx, round_, digest)) < self._ctx.quorum:
            return None
        return tuple(p for p in prepares if p.block_hash == digest)

    def prepare_authors(self, round_: int, digest: bytes) -> tuple[bytes, ...]:
        prepares = self._prepares.get(round_, {}).values()
        return tuple(sorted(prepare_authors(prepares, self._ctx, round_, digest)))

    def commit_authors(self, round_: int) -> tuple[bytes, ...]:
        return tuple(sorted(self._commits.get(round_, {})))

    def valid_seals(self, round_: int, block: ProposedBlock, digest: bytes) -> list[bytes]:
        """Sorted commit seals of ``block`` (carrying ``round_``) that verify."""
        return sorted(
            c.commit_seal
            for c in self._commits.get(round_, {}).values()
            if c.block_hash == digest and self._seal_valid(c, block)
        )

    def _seal_valid(self, commit: Commit, block: ProposedBlock) -> bool:
        key = (commit.round, commit.author)  # one accepted block per round
        if key not in self._seal_ok:
            try:
                signer = recover_address(commit_seal_hash(block.header_rlp), commit.commit_seal)
            except ConsensusError:
                signer = b""
            self._seal_ok[key] = signer == commit.author
        return self._seal_ok[key]

    def round_changes_for(self, round_: int) -> tuple[RoundChange, ...]:
        return tuple(rc for rc in self.round_changes.values() if rc.round == round_)

    def rounds_with_quorum(self, from_round: int) -> list[int]:
        """Rounds >= from_round with a quorum of ROUND_CHANGEs, highest first."""
        counts: dict[int, int] = {}
        for rc in self.round_changes.values():
            counts[rc.round] = counts.get(rc.round, 0) + 1
        return sorted(
            (r for r, c in counts.items() if r >= from_round and c >= self._ctx.quorum),
            reverse=True,
        )

    def catch_up_round(self, current_round: int, me: bytes) -> int | None:
        """Rule 7b: the lowest round ahead of mine once f+1 others are ahead."""
        ahead = [
            rc.round
            for author, rc in self.round_changes.items()
            if rc.round > current_round and author != me
        ]
        if len(ahead) < max_faulty(len(self._ctx.validators)) + 1:
            return None
        return min(ahead)
