"""The canonical chain of one node: build, validate, import and read blocks.

Everything here is synchronous and deterministic given the store and the inputs;
the asyncio runner is the only caller that knows about time and sockets.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import rlp
from eth_utils import keccak

from chain.consensus import block_encoding as qbft
from chain.consensus import voting
from chain.consensus.errors import ConsensusError
from chain.errors import InvalidBlock, StorageCorrupted, TransactionRejected
from chain.execution import blocks, engine
from chain.execution.engine import ExecutionOutcome, TransactionInvalidInBlock
from chain.execution.genesis import build_genesis
from chain.execution.transactions import DecodedTransaction, decode_transaction
from chain.genesis import GenesisSpec
from chain.storage.lmdb_store import BlockRecord, LmdbStore, StoredLog, StoredReceipt

EMPTY_TRIE_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
# Roles in the Permissioning contract (slot 0: mapping(address => uint8) accountRole).
ROLE_NONE = 0
PERMISSIONING = "permissioning"
MAX_FUTURE_SECONDS = 15  # a block timestamp this far ahead of our clock is refused


def role_slot(address: bytes) -> int:
    return int.from_bytes(keccak(address.rjust(32, b"\x00") + (0).to_bytes(32, "big")), "big")


def node_slot(node_id: bytes) -> int:
    return int.from_bytes(keccak(node_id + (1).to_bytes(32, "big")), "big")


@dataclass(frozen=True)
class BuiltBlock:
    header_rlp: bytes  # round set, no seals
    block_hash: bytes
    outcome: ExecutionOutcome
    excluded: tuple[tuple[bytes, str], ...]  # (tx hash, why) left out while building


class Chain:
    def __init__(self, store: LmdbStore, genesis: GenesisSpec) -> None:
        self.store = store
        self.genesis = genesis
        self.chain_id = genesis.chain_id
        self.permissioning = genesis.system_contracts.get(PERMISSIONING)
        self._headers: OrderedDict[bytes, blocks.Header] = OrderedDict()
        self._executed: OrderedDict[bytes, ExecutionOutcome] = OrderedDict()
        self._tallies: OrderedDict[bytes, voting.TallyState] = OrderedDict()
        self._head_reader: engine.AccountReader | None = None
        # Transactions already decoded and signature-checked (the pool's), by hash.
        self.known_transactions: Mapping[bytes, DecodedTransaction] = {}
        # Votes this node's operator asked for (qbft_proposeValidatorVote): address -> add.
        self.proposed_votes: dict[bytes, bool] = {}
        self._open()

    # --- opening --------------------------------------------------------------

    def _open(self) -> None:
        built = build_genesis(self.genesis)
        genesis_rlp = blocks.encode_header(built.header)
        genesis_hash = qbft.block_hash(genesis_rlp)
        stored = self.store.genesis_hash()
        if stored is None:
            self.store.commit_block(
                BlockRecord(
                    number=0,
                    hash=genesis_hash,
                    header_rlp=genesis_rlp,
                    transactions=(),
                    transaction_hashes=(),
                    receipts=(),
                    state_changes=built.state_changes,
                ),
                genesis=True,
            )
        elif stored != genesis_hash:
            raise StorageCorrupted(
                f"data directory holds a chain with genesis {stored.hex()}, "
                f"but the genesis file gives {genesis_hash.hex()}; use another data directory"
            )
        head = self.store.head()
        if head is None:
            raise StorageCorrupted("data directory has a genesis but no head")
        self.head_number, self.head_hash = head
        head_header = self.header_by_hash(self.head_hash)
        if head_header is None:
            raise StorageCorrupted("head header is missing")
        self.head: blocks.Header = head_header

    # --- headers --------------------------------------------------------------

    def header_by_hash(self, block_hash: bytes) -> blocks.Header | None:
        header = self._headers.get(block_hash)
        if header is not None:
            return header
        data = self.store.header_rlp(block_hash)
        if data is None:
            return None
        header = blocks.decode_header(data)
        self._headers[block_hash] = header
        if len(self._headers) > 4096:
            self._headers.popitem(last=False)
        return header

    def header_by_number(self, number: int) -> blocks.Header | None:
        block_hash = self.store.canonical_hash(number)
        return None if block_hash is None else self.header_by_hash(block_hash)

    def prev_hashes(self, parent_number: int) -> Iterator[bytes]:
        """Hashes of blocks parent, parent-1, ... (at most 256), for BLOCKHASH; lazy."""
        for number in range(parent_number, max(-1, parent_number - 256), -1):
            block_hash = self.store.canonical_hash(number)
            if block_hash is None:
                return
            yield block_hash

    def validators_after(self, header: blocks.Header) -> tuple[bytes, ...]:
        """The validator set that validates the block after ``header``."""
        return self.tally_after(header).validators

    def tally_after(self, header: blocks.Header) -> voting.TallyState:
        """Validators and pending votes after ``header``: from its epoch block on.

        An epoch block resets the votes and lists its validators in extraData,
        so at most ``epoch_length`` headers are folded, and results are cached.
        """
        block_hash = qbft.block_hash(blocks.encode_header(header))
        cached = self._tallies.get(block_hash)
        if cached is not None:
            return cached
        epoch = self.genesis.qbft.epoch_length
        pending: list[blocks.Header] = [header]  # headers to fold, newest first
        while True:
            oldest = pending[-1]
            if oldest.block_number % epoch == 0:
                # An epoch block (or genesis) resets the votes; its extraData lists the set.
                pending.pop()
                state = voting.TallyState(qbft.QbftExtraData.decode(bytes(oldest.extra_data)).validators, {})
                self._remember_tally(qbft.block_hash(blocks.encode_header(oldest)), state)
                break
            parent_hash = bytes(oldest.parent_hash)
            known = self._tallies.get(parent_hash)
            if known is not None:
                state = known
                break
            parent = self.header_by_hash(parent_hash)
            if parent is None:
                raise StorageCorrupted(f"header {parent_hash.hex()} is missing")
            pending.append(parent)
        for block in reversed(pending):
            extra = qbft.QbftExtraData.decode(bytes(block.extra_data))
            state = voting.apply_block(state, block.block_number, bytes(block.coinbase), extra.vote, epoch)
            self._remember_tally(qbft.block_hash(blocks.encode_header(block)), state)
        return state

    def _remember_tally(self, block_hash: bytes, state: voting.TallyState) -> None:
        self._tallies[block_hash] = state
        while len(self._tallies) > 256:
            self._tallies.popitem(last=False)

    def validators_at(self, number: int) -> tuple[bytes, ...]:
        header = self.header_by_number(number)
        if header is None:
            raise KeyError(number)
        return qbft.QbftExtraData.decode(bytes(header.extra_data)).validators

    # --- permissions ------------------------------------------------------------

    def permitted_role(self, reader: engine.AccountReader, address: bytes) -> int:
        if self.permissioning is None:
            return 1  # a chain without a permissioning contract is open
        return reader.storage(self.permissioning, role_slot(address))

    def role_lookup(self, reader: engine.AccountReader) -> dict[bytes, int]:
        """Roles read once per sender for one block (all from the parent's state)."""

        class Roles(dict[bytes, int]):
            def __missing__(inner, address: bytes) -> int:  # noqa: N805
                inner[address] = role = self.permitted_role(reader, address)
                return role

        return Roles()

    def reader_at(self, header: blocks.Header) -> engine.AccountReader:
        if header is self.head:
            # One reader per head: admission checks thousands of transactions per block.
            if self._head_reader is None:
                self._head_reader = engine.AccountReader(header, self.store)
            return self._head_reader
        return engine.AccountReader(header, self.store)

    # --- building ----------------------------------------------------------------

    def build_block(
        self,
        candidates: Sequence[DecodedTransaction],
        *,
        coinbase: bytes,
        timestamp: int,
        round_number: int,
        max_retries: int = 64,
    ) -> BuiltBlock:
        """Execute ``candidates`` (pool order) on the head; drop any that cannot apply."""
        parent = self.head
        tally = self.tally_after(parent)
        extra = qbft.QbftExtraData(
            vanity=b"\x00" * 32, validators=tally.validators,
            vote=self._vote_to_cast(tally, parent.block_number + 1, coinbase),
            round=round_number, seals=(),
        ).encode()
        template = blocks.child_header(
            parent,
            self.head_hash,
            coinbase=coinbase,
            timestamp=timestamp,
            extra_data=extra,
            gas_limit=parent.gas_limit,
        )
        roles = self.role_lookup(self.reader_at(parent))
        excluded: list[tuple[bytes, str]] = []
        chosen: list[DecodedTransaction] = []
        gas_left = template.gas_limit
        for tx in candidates:
            if roles[tx.sender] == ROLE_NONE:
                excluded.append((tx.hash, "not_permitted"))
            elif tx.gas > gas_left:
                excluded.append((tx.hash, "block_full"))
            else:
                chosen.append(tx)
                gas_left -= tx.gas
        for _ in range(max_retries):
            try:
                outcome = engine.execute_transactions(
                    template, chosen, self.store, self.chain_id, self.prev_hashes(parent.block_number)
                )
                break
            except TransactionInvalidInBlock as exc:
                bad = chosen[exc.index]
                excluded.append((bad.hash, exc.message))
                # Later transactions of the same sender depend on the bad one's nonce.
                chosen = [
                    t for i, t in enumerate(chosen)
                    if i != exc.index and not (t.sender == bad.sender and t.nonce > bad.nonce)
                ]
        else:
            chosen = []
            outcome = engine.execute_transactions(
                template, chosen, self.store, self.chain_id, self.prev_hashes(parent.block_number)
            )
        header_rlp = blocks.encode_header(outcome.header)
        block_hash = qbft.block_hash(header_rlp)
        self._remember(block_hash, outcome)
        return BuiltBlock(header_rlp, block_hash, outcome, tuple(excluded))

    def _vote_to_cast(self, tally: voting.TallyState, number: int, proposer: bytes) -> qbft.Vote | None:
        """One of the operator's pending votes that still changes something."""
        if voting.is_epoch_block(number, self.genesis.qbft.epoch_length):
            return None
        for address, add in sorted(self.proposed_votes.items()):
            vote = qbft.Vote(address=address, add=add)
            if voting.is_vote_meaningful(vote, tally.validators) and tally.votes.get((proposer, address)) != add:
                return vote
        return None

    def _remember(self, block_hash: bytes, outcome: ExecutionOutcome) -> None:
        self._executed[block_hash] = outcome
        while len(self._executed) > 16:
            self._executed.popitem(last=False)

    # --- validating ------------------------------------------------------------------

    def validate_header_rules(self, header: blocks.Header, now: float | None) -> qbft.QbftExtraData:
        """Header rules of QBFT on this chain (not seals); raises InvalidBlock."""
        parent = self.head
        if header.block_number != parent.block_number + 1:
            raise InvalidBlock(f"block number {header.block_number} does not follow head {parent.block_number}")
        if bytes(header.parent_hash) != self.head_hash:
            raise InvalidBlock("parent hash is not the current head")
        try:
            extra = qbft.QbftExtraData.decode(bytes(header.extra_data))
        except Exception as exc:
            raise InvalidBlock(f"extraData is not QBFT extraData: {exc}") from exc
        expected = self.validators_after(parent)
        if extra.validators != expected:
            raise InvalidBlock("extraData validators differ from the set for this height")
        try:
            voting.validate_vote(extra.vote, header.block_number, expected, self.genesis.qbft.epoch_length)
            proposer = qbft.proposer_for_round(
                expected, bytes(parent.coinbase), extra.round, header.block_number
            )
        except ConsensusError as exc:
            raise InvalidBlock(str(exc)) from exc
        if bytes(header.coinbase) != proposer:
            raise InvalidBlock(
                f"coinbase 0x{bytes(header.coinbase).hex()} is not the proposer of round "
                f"{extra.round} (0x{proposer.hex()})"
            )
        params = self.genesis.qbft
        empty = bytes(header.transaction_root) == EMPTY_TRIE_ROOT
        period = params.empty_block_period if empty else params.block_period
        if header.timestamp < parent.timestamp + period:
            kind = "an empty block" if empty else "a block"
            raise InvalidBlock(
                f"timestamp {header.timestamp} is too early for {kind}: "
                f"parent {parent.timestamp} + period {period}"
            )
        if now is not None and header.timestamp > now + MAX_FUTURE_SECONDS:
            raise InvalidBlock(f"timestamp {header.timestamp} is in the future")
        checks = (
            (header.difficulty == 1, "difficulty must be 1"),
            (bytes(header.mix_hash) == qbft.MIX_HASH, "mixHash must be the QBFT constant"),
            (bytes(header.nonce) == b"\x00" * 8, "nonce must be zero"),
            (header.base_fee_per_gas == 0, "base fee must be zero"),
            (header.gas_limit == parent.gas_limit, "gas limit must equal the parent's"),
            (header.gas_used <= header.gas_limit, "gas used exceeds the gas limit"),
            (header.blob_gas_used == 0 and header.excess_blob_gas == 0, "blob gas must be zero"),
        )
        for ok, message in checks:
            if not ok:
                raise InvalidBlock(message)
        return extra

    def execute_for_import(self, header_rlp: bytes, raw_transactions: Sequence[bytes], now: float | None) -> ExecutionOutcome:
        """Re-execute a block from another node (or a test) and compare with its header."""
        try:
            header = blocks.decode_header(header_rlp)
        except (rlp.DecodingError, rlp.DeserializationError) as exc:
            raise InvalidBlock(f"header does not decode: {exc}") from exc
        self.validate_header_rules(header, now)
        block_hash = qbft.block_hash(header_rlp)
        cached = self._executed.get(block_hash)
        if cached is not None:  # same hash: same block apart from round and seals
            return cached
        parent = self.head
        roles = self.role_lookup(self.reader_at(parent))
        txs = []
        for index, raw in enumerate(raw_transactions):
            known = self.known_transactions.get(keccak(raw))
            try:
                tx = known if known is not None and known.raw == raw else decode_transaction(raw, self.chain_id)
            except TransactionRejected as exc:
                raise InvalidBlock(f"transaction {index}: {exc.message}") from exc
            if roles[tx.sender] == ROLE_NONE:
                raise InvalidBlock(
                    f"transaction {index} ({tx.hash.hex()}) is from 0x{tx.sender.hex()}, "
                    "which is not permitted at this height"
                )
            txs.append(tx)
        template: blocks.Header = header.copy(  # type: ignore[assignment]
            state_root=parent.state_root, transaction_root=EMPTY_TRIE_ROOT,
            receipt_root=EMPTY_TRIE_ROOT, bloom=0, gas_used=0,
        )
        try:
            outcome = engine.execute_transactions(
                template, txs, self.store, self.chain_id, self.prev_hashes(parent.block_number)
            )
        except TransactionInvalidInBlock as exc:
            raise InvalidBlock(f"transaction {exc.index} cannot be applied: {exc.message}") from exc
        got = outcome.header
        for field in ("transaction_root", "receipt_root", "gas_used", "bloom", "state_root"):
            if getattr(got, field) != getattr(header, field):
                raise InvalidBlock(f"{field} does not match the block's execution")
        self._remember(block_hash, outcome)
        return outcome

    # --- committing ------------------------------------------------------------

    def commit(self, final_header_rlp: bytes, outcome: ExecutionOutcome) -> BlockRecord:
        """Store a finalized block (header with seals) and make it the head."""
        block_hash = qbft.block_hash(final_header_rlp)
        header = blocks.decode_header(final_header_rlp)
        receipts = []
        for executed in outcome.executed:
            receipt = executed.receipt
            tx = executed.transaction
            receipts.append(
                StoredReceipt(
                    status=1 if receipt.state_root == b"\x01" else 0,
                    cumulative_gas_used=receipt.gas_used,
                    gas_used=executed.gas_used,
                    effective_gas_price=executed.effective_gas_price,
                    contract_address=executed.contract_address,
                    sender=tx.sender,
                    to=tx.to,
                    type=tx.type,
                    logs=tuple(
                        StoredLog(
                            address=bytes(log.address),
                            topics=tuple(int(t).to_bytes(32, "big") for t in log.topics),
                            data=bytes(log.data),
                        )
                        for log in receipt.logs
                    ),
                )
            )
        record = BlockRecord(
            number=header.block_number,
            hash=block_hash,
            header_rlp=final_header_rlp,
            transactions=tuple(t.transaction.raw for t in outcome.executed),
            transaction_hashes=tuple(t.transaction.hash for t in outcome.executed),
            receipts=tuple(receipts),
            state_changes=outcome.state_changes,
        )
        self.store.commit_block(record)
        self.head_number, self.head_hash, self.head = header.block_number, block_hash, header
        self._head_reader = None
        self._headers[block_hash] = header
        self._executed.clear()
        return record

    def import_block(self, final_header_rlp: bytes, raw_transactions: Sequence[bytes], now: float | None) -> BlockRecord:
        """Validate header rules, seals and execution, then commit. State is unchanged on error."""
        outcome = self.execute_for_import(final_header_rlp, raw_transactions, now)
        try:
            qbft.validate_finalized_header(final_header_rlp, self.validators_after(self.head))
        except Exception as exc:
            raise InvalidBlock(f"commit seals are not valid: {exc}") from exc
        return self.commit(final_header_rlp, outcome)
