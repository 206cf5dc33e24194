"""Besu QBFT block-header encoding: extraData, block hash, commit-seal hash, proposer.

The node hands the core a header as the RLP of a Cancun header (20 fields). The
block hash ignores the round and the seals, so a block re-proposed in a later round
keeps its hash; commit seals sign the header with its round and without seals.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import rlp
from eth_hash.auto import keccak

from chain.consensus.crypto import InvalidSignature, recover_address
from chain.consensus.errors import InvalidExtraData, InvalidHeader, InvalidSeals

MIX_HASH = bytes.fromhex("63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365")
DIFFICULTY = 1
NONCE = b"\x00" * 8
EMPTY_TRIE_ROOT = bytes.fromhex("56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421")
VOTE_ADD = 0xFF
VOTE_DROP = 0x80
MAX_VALIDATORS = 1024

HEADER_FIELD_COUNT = 20
PARENT_HASH, COINBASE, TRANSACTION_ROOT = 0, 2, 4
DIFFICULTY_INDEX, NUMBER, TIMESTAMP, EXTRA_DATA, MIX_HASH_INDEX, NONCE_INDEX = 7, 8, 11, 12, 13, 14


def quorum(n: int) -> int:
    """Votes needed out of ``n`` validators: ceil(2n/3)."""
    return (2 * n - 1) // 3 + 1


def max_faulty(n: int) -> int:
    """Byzantine validators tolerated out of ``n``."""
    return (n - 1) // 3


@dataclass(frozen=True)
class Vote:
    """A proposer's vote to add (``add=True``) or drop a validator."""

    address: bytes
    add: bool


@dataclass(frozen=True)
class QbftExtraData:
    vanity: bytes
    validators: tuple[bytes, ...]
    vote: Vote | None
    round: int
    seals: tuple[bytes, ...]

    def encode(self) -> bytes:
        vote: list[bytes] = []
        if self.vote is not None:
            vote = [self.vote.address, bytes([VOTE_ADD if self.vote.add else VOTE_DROP])]
        return rlp.encode([self.vanity, list(self.validators), vote, self.round, list(self.seals)])

    @classmethod
    def decode(cls, raw: bytes) -> QbftExtraData:
        try:
            items = rlp.decode(raw)
        except rlp.exceptions.DecodingError as exc:
            raise InvalidExtraData("extraData is not valid RLP") from exc
        if not isinstance(items, list) or len(items) != 5:
            raise InvalidExtraData("extraData must be an RLP list of 5 items")
        vanity, validators, vote, round_, seals = items
        if not isinstance(vanity, bytes) or len(vanity) != 32:
            raise InvalidExtraData("extraData vanity must be exactly 32 bytes")
        validators_ = _decode_byte_list(validators, 20, "validator address")
        if len(validators_) > MAX_VALIDATORS:
            raise InvalidExtraData(f"more than {MAX_VALIDATORS} validators")
        if any(a >= b for a, b in zip(validators_, validators_[1:], strict=False)):
            raise InvalidExtraData("validators must be sorted ascending without duplicates")
        seals_ = _decode_byte_list(seals, 65, "commit seal")
        if len(seals_) > MAX_VALIDATORS:
            raise InvalidExtraData(f"more than {MAX_VALIDATORS} seals")
        return cls(
            vanity=vanity,
            validators=validators_,
            vote=_decode_vote(vote),
            round=decode_uint(round_, "extraData round", InvalidExtraData),
            seals=seals_,
        )


def _decode_byte_list(item: object, length: int, what: str) -> tuple[bytes, ...]:
    if not isinstance(item, list):
        raise InvalidExtraData(f"{what} list must be an RLP list")
    for element in item:
        if not isinstance(element, bytes) or len(element) != length:
            raise InvalidExtraData(f"each {what} must be {length} bytes")
    return tuple(item)


def _decode_vote(item: object) -> Vote | None:
    if not isinstance(item, list):
        raise InvalidExtraData("vote must be an RLP list")
    if not item:
        return None
    if len(item) != 2:
        raise InvalidExtraData("vote must be [] or [address, flag]")
    address, flag = item
    if not isinstance(address, bytes) or len(address) != 20:
        raise InvalidExtraData("vote address must be 20 bytes")
    if flag == bytes([VOTE_ADD]):
        return Vote(address, add=True)
    if flag == bytes([VOTE_DROP]):
        return Vote(address, add=False)
    raise InvalidExtraData("vote flag must be 0xFF (add) or 0x80 (drop)")


def decode_uint(item: object, what: str, error: type[Exception] = InvalidHeader) -> int:
    """A canonical RLP scalar: big-endian bytes without leading zeros."""
    if not isinstance(item, bytes):
        raise error(f"{what} must be a byte string")
    if item[:1] == b"\x00":
        raise error(f"{what} has leading zero bytes")
    return int.from_bytes(item, "big")


def decode_header(header_rlp: bytes) -> list[bytes]:
    """The 20 raw fields of a Cancun header."""
    try:
        items = rlp.decode(header_rlp)
    except rlp.exceptions.DecodingError as exc:
        raise InvalidHeader("header is not valid RLP") from exc
    if not isinstance(items, list) or len(items) != HEADER_FIELD_COUNT:
        raise InvalidHeader(f"header must be an RLP list of {HEADER_FIELD_COUNT} fields")
    if not all(isinstance(item, bytes) for item in items):
        raise InvalidHeader("header fields must be byte strings")
    return items


@dataclass(frozen=True)
class HeaderFields:
    number: int
    parent_hash: bytes
    coinbase: bytes
    timestamp: int
    transaction_root: bytes
    difficulty: int
    mix_hash: bytes
    nonce: bytes
    extra: QbftExtraData

    @property
    def is_empty(self) -> bool:
        """True when the block carries no transactions (empty trie root)."""
        return self.transaction_root == EMPTY_TRIE_ROOT


# Headers are small and decoded many times per height (proposal, prepares, commits);
# memoizing these pure functions keeps RLP decoding off the hot path.
@lru_cache(maxsize=512)
def header_fields(header_rlp: bytes) -> HeaderFields:
    items = decode_header(header_rlp)
    for index, length, name in (
        (PARENT_HASH, 32, "parent_hash"),
        (COINBASE, 20, "coinbase"),
        (TRANSACTION_ROOT, 32, "transaction_root"),
        (MIX_HASH_INDEX, 32, "mix_hash"),
        (NONCE_INDEX, 8, "nonce"),
    ):
        if len(items[index]) != length:
            raise InvalidHeader(f"{name} must be {length} bytes")
    return HeaderFields(
        number=decode_uint(items[NUMBER], "block number"),
        parent_hash=items[PARENT_HASH],
        coinbase=items[COINBASE],
        timestamp=decode_uint(items[TIMESTAMP], "timestamp"),
        transaction_root=items[TRANSACTION_ROOT],
        difficulty=decode_uint(items[DIFFICULTY_INDEX], "difficulty"),
        mix_hash=items[MIX_HASH_INDEX],
        nonce=items[NONCE_INDEX],
        extra=QbftExtraData.decode(items[EXTRA_DATA]),
    )


def with_round_and_seals(header_rlp: bytes, round_: int, seals: Sequence[bytes]) -> bytes:
    """The header re-encoded with extraData's round and seals replaced."""
    items = decode_header(header_rlp)
    extra = QbftExtraData.decode(items[EXTRA_DATA])
    items[EXTRA_DATA] = QbftExtraData(
        extra.vanity, extra.validators, extra.vote, round_, tuple(seals)
    ).encode()
    return rlp.encode(items)


@lru_cache(maxsize=512)
def block_hash(header_rlp: bytes) -> bytes:
    """keccak of the header with round = 0 and no seals: stable across rounds."""
    return keccak(with_round_and_seals(header_rlp, 0, ()))


@lru_cache(maxsize=512)
def commit_seal_hash(header_rlp: bytes) -> bytes:
    """keccak of the header with its round and no seals: what a commit seal signs."""
    return keccak(with_round_and_seals(header_rlp, header_fields(header_rlp).extra.round, ()))


def chain_hash(header_rlp: bytes) -> bytes:
    """Hash of a block already in the chain; genesis keeps its raw extraData."""
    items = decode_header(header_rlp)
    if decode_uint(items[NUMBER], "block number") == 0:
        return keccak(header_rlp)
    return block_hash(header_rlp)


def head_number_and_timestamp(header_rlp: bytes) -> tuple[int, int]:
    items = decode_header(header_rlp)
    return decode_uint(items[NUMBER], "block number"), decode_uint(items[TIMESTAMP], "timestamp")


def proposer_for_round(
    validators: Sequence[bytes], parent_proposer: bytes | None, round_: int, height: int
) -> bytes:
    """validators[(base + round) mod n], base from the parent's proposer (Besu)."""
    if not validators:
        raise InvalidHeader("the validator set is empty")
    if height <= 1 or parent_proposer is None:
        base = 0
    elif parent_proposer in validators:
        base = list(validators).index(parent_proposer) + 1
    else:
        # The parent's proposer was removed: start at the next address, no +1.
        base = next((i for i, v in enumerate(validators) if v > parent_proposer), 0)
    return validators[(base + round_) % len(validators)]


def recover_seal_authors(header_rlp: bytes) -> tuple[bytes, ...]:
    """Addresses that sealed a finalized header, in seal order."""
    fields = header_fields(header_rlp)
    digest = commit_seal_hash(header_rlp)
    try:
        return tuple(recover_address(digest, seal) for seal in fields.extra.seals)
    except InvalidSignature as exc:
        raise InvalidSeals(f"malformed commit seal: {exc}") from exc


def validate_finalized_header(header_rlp: bytes, validators: Sequence[bytes]) -> None:
    """Raise InvalidSeals unless >= quorum distinct seals come from ``validators``.

    Every seal must be valid and from a distinct member; the header's other fields
    (parent, execution) are the importer's to check.
    """
    allowed = set(validators)
    authors = recover_seal_authors(header_rlp)
    if len(set(authors)) != len(authors):
        raise InvalidSeals("duplicate commit seal author")
    strangers = [a.hex() for a in authors if a not in allowed]
    if strangers:
        raise InvalidSeals(f"commit seals from non-validators: {', '.join(strangers)}")
    needed = quorum(len(allowed))
    if len(authors) < needed:
        raise InvalidSeals(f"{len(authors)} commit seals, {needed} needed")
