"""Besu QBFT header encoding: table-driven, no fixtures."""

from __future__ import annotations

import pytest
import rlp

from chain.consensus.block_encoding import (
    EXTRA_DATA,
    QbftExtraData,
    Vote,
    block_hash,
    commit_seal_hash,
    decode_header,
    header_fields,
    max_faulty,
    proposer_for_round,
    quorum,
    validate_finalized_header,
    with_round_and_seals,
)
from chain.consensus.crypto import address_of, sign
from chain.consensus.errors import InvalidExtraData, InvalidHeader, InvalidSeals
from tests.consensus.simulation import ZERO32, make_header

KEYS = [bytes([i]) * 32 for i in range(1, 8)]
VALIDATORS = tuple(sorted(address_of(k) for k in KEYS[:4]))
A, B, C, D = (bytes([x]) * 20 for x in (0x10, 0x20, 0x30, 0x40))


@pytest.mark.parametrize(
    ("n", "q", "f"),
    [(1, 1, 0), (2, 2, 0), (3, 2, 0), (4, 3, 1), (5, 4, 1), (6, 4, 1), (7, 5, 2), (10, 7, 3)],
)
def test_quorum_and_max_faulty(n: int, q: int, f: int) -> None:
    assert quorum(n) == q
    assert max_faulty(n) == f


def header(round_: int = 0, seals: tuple[bytes, ...] = (), vote: Vote | None = None) -> bytes:
    extra = QbftExtraData(b"\x01" * 32, VALIDATORS, vote, round_, seals).encode()
    return make_header(
        parent_hash=b"\x02" * 32,
        coinbase=VALIDATORS[0],
        number=5,
        timestamp=1_700_000_000,
        extra=extra,
    )


@pytest.mark.parametrize(
    "extra",
    [
        QbftExtraData(ZERO32, (), None, 0, ()),
        QbftExtraData(ZERO32, VALIDATORS, None, 0, ()),
        QbftExtraData(b"\xaa" * 32, VALIDATORS, Vote(A, add=True), 7, (b"\x05" * 65,)),
        QbftExtraData(b"\xaa" * 32, (A, B), Vote(C, add=False), 2**32, (b"\x05" * 65,) * 3),
    ],
)
def test_extra_data_round_trip(extra: QbftExtraData) -> None:
    assert QbftExtraData.decode(extra.encode()) == extra


def test_vote_flags_are_single_bytes() -> None:
    add = QbftExtraData(ZERO32, (), Vote(A, True), 0, ()).encode()
    drop = QbftExtraData(ZERO32, (), Vote(A, False), 0, ()).encode()
    assert rlp.decode(add)[2] == [A, b"\xff"]
    assert rlp.decode(drop)[2] == [A, b"\x80"]


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\xff", "not RLP"),
        (rlp.encode([ZERO32, [], [], 0]), "four items"),
        (rlp.encode([b"\x00" * 31, [], [], 0, []]), "short vanity"),
        (rlp.encode([ZERO32, [b"\x01" * 19], [], 0, []]), "short address"),
        (rlp.encode([ZERO32, [B, A], [], 0, []]), "unsorted"),
        (rlp.encode([ZERO32, [A, A], [], 0, []]), "duplicate"),
        (rlp.encode([ZERO32, [A], [A], 0, []]), "vote of one item"),
        (rlp.encode([ZERO32, [A], [A, b"\x01"], 0, []]), "bad vote flag"),
        (rlp.encode([ZERO32, [A], [], b"\x00\x01", []]), "round with leading zero"),
        (rlp.encode([ZERO32, [A], [], [], []]), "round is a list"),
        (rlp.encode([ZERO32, [A], [], 0, [b"\x01" * 64]]), "short seal"),
        (rlp.encode([ZERO32, A, [], 0, []]), "validators not a list"),
    ],
)
def test_malformed_extra_data_is_rejected(raw: bytes, why: str) -> None:
    with pytest.raises(InvalidExtraData):
        QbftExtraData.decode(raw)


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x80", "not a list"),
        (rlp.encode([b""] * 19), "19 fields"),
        (rlp.encode([b""] * 19 + [[b""]]), "nested list field"),
    ],
)
def test_malformed_header_is_rejected(raw: bytes, why: str) -> None:
    with pytest.raises(InvalidHeader):
        header_fields(raw)


def test_header_fields() -> None:
    fields = header_fields(header(round_=3))
    assert (fields.number, fields.timestamp, fields.coinbase) == (5, 1_700_000_000, VALIDATORS[0])
    assert fields.extra.round == 3 and fields.extra.validators == VALIDATORS
    assert fields.is_empty and fields.difficulty == 1


def test_block_hash_ignores_round_and_seals_commit_seal_hash_only_seals() -> None:
    base = header()
    variants = [header(round_=r, seals=s) for r in (0, 1, 9) for s in ((), (b"\x07" * 65,))]
    assert {block_hash(v) for v in variants} == {block_hash(base)}
    assert commit_seal_hash(header(1)) == commit_seal_hash(header(1, (b"\x07" * 65,)))
    assert commit_seal_hash(header(1)) != commit_seal_hash(header(2))
    assert block_hash(header(vote=Vote(A, True))) != block_hash(base)


def test_with_round_and_seals_replaces_only_extra_fields() -> None:
    seals = (b"\x09" * 65,)
    updated = with_round_and_seals(header(), 4, seals)
    extra = header_fields(updated).extra
    assert (extra.round, extra.seals) == (4, seals)
    original, changed = decode_header(header()), decode_header(updated)
    assert [f for i, f in enumerate(original) if i != EXTRA_DATA] == [
        f for i, f in enumerate(changed) if i != EXTRA_DATA
    ]


@pytest.mark.parametrize(
    ("parent_proposer", "round_", "height", "expected"),
    [
        (None, 0, 1, A),
        (D, 0, 1, A),  # block 1: base 0 whatever the genesis coinbase
        (A, 0, 2, B),
        (A, 2, 2, D),
        (A, 3, 2, A),  # wraps
        (D, 0, 5, A),
        (D, 1, 5, B),
        (b"\x25" * 20, 0, 5, C),  # removed, between B and C: first greater, no +1
        (b"\x25" * 20, 1, 5, D),
        (b"\x05" * 20, 0, 5, A),  # removed, below all
        (b"\x50" * 20, 0, 5, A),  # removed, above all: wraps to 0
    ],
)
def test_proposer_for_round(
    parent_proposer: bytes | None, round_: int, height: int, expected: bytes
) -> None:
    assert proposer_for_round((A, B, C, D), parent_proposer, round_, height) == expected


def sealed(keys: list[bytes], round_: int = 1) -> bytes:
    unsealed = header(round_)
    digest = commit_seal_hash(unsealed)
    return with_round_and_seals(unsealed, round_, [sign(k, digest) for k in keys])


def test_finalized_header_with_quorum_of_seals_is_valid() -> None:
    validate_finalized_header(sealed(KEYS[:3]), VALIDATORS)
    validate_finalized_header(sealed(KEYS[:4]), VALIDATORS)


@pytest.mark.parametrize(
    ("keys", "why"),
    [
        (KEYS[:2], "below quorum"),
        ([KEYS[0], KEYS[0], KEYS[1]], "duplicate author"),
        (KEYS[:2] + [KEYS[5]], "non-validator"),
    ],
)
def test_finalized_header_without_quorum_is_rejected(keys: list[bytes], why: str) -> None:
    with pytest.raises(InvalidSeals):
        validate_finalized_header(sealed(keys), VALIDATORS)


def test_seal_over_another_round_does_not_count() -> None:
    unsealed = header(1)
    wrong = commit_seal_hash(header(2))
    seals = [sign(k, commit_seal_hash(unsealed)) for k in KEYS[:2]] + [sign(KEYS[2], wrong)]
    with pytest.raises(InvalidSeals):
        validate_finalized_header(with_round_and_seals(unsealed, 1, seals), VALIDATORS)


def test_malformed_seal_is_rejected() -> None:
    unsealed = header(1)
    seals = [sign(k, commit_seal_hash(unsealed)) for k in KEYS[:3]]
    seals[0] = seals[0][:64] + b"\x05"
    with pytest.raises(InvalidSeals):
        validate_finalized_header(with_round_and_seals(unsealed, 1, seals), VALIDATORS)
