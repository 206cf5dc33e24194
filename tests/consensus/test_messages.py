"""Message codec: round trips, authors recovered, tampering and malformed input rejected."""

from __future__ import annotations

import pytest
import rlp

from chain.consensus.crypto import address_of, sign
from chain.consensus.errors import InvalidMessage
from chain.consensus.messages import (
    MAX_MESSAGE_SIZE,
    PREPARE,
    ROUND_CHANGE,
    Commit,
    Prepare,
    Proposal,
    ProposedBlock,
    RoundChange,
    build_commit,
    build_prepare,
    build_proposal,
    build_round_change,
    decode_message,
    strip_round_change,
)

KEY = b"\x11" * 32
OTHER = b"\x22" * 32
DIGEST = b"\xab" * 32
BLOCK = ProposedBlock(b"\xc0", b"body bytes")


def prepares() -> tuple[Prepare, ...]:
    return tuple(build_prepare(k, 9, 1, DIGEST) for k in (KEY, OTHER))


def samples() -> list[Prepare | Commit | RoundChange | Proposal]:
    rc_prepared = build_round_change(KEY, 9, 2, (1, DIGEST, BLOCK, prepares()))
    rc_plain = build_round_change(OTHER, 9, 2, None)
    return [
        build_prepare(KEY, 9, 0, DIGEST),
        build_commit(KEY, 9, 3, DIGEST, sign(KEY, DIGEST)),
        rc_plain,
        rc_prepared,
        build_proposal(KEY, 9, 0, BLOCK, (), ()),
        build_proposal(KEY, 9, 2, BLOCK, (rc_prepared, rc_plain), prepares()),
    ]


@pytest.mark.parametrize("message", samples(), ids=lambda m: type(m).__name__)
def test_round_trip_recovers_author(message: Prepare | Commit | RoundChange | Proposal) -> None:
    decoded = decode_message(message.raw)
    assert decoded == message  # includes the recovered author
    expected = address_of(OTHER) if message.raw == samples()[2].raw else address_of(KEY)
    assert decoded.author == expected


def test_proposal_carries_round_changes_without_their_blocks() -> None:
    proposal = samples()[-1]
    assert isinstance(proposal, Proposal)
    rc = proposal.round_changes[0]
    assert rc.prepared_round == 1 and rc.prepared_block_hash == DIGEST
    assert rc.prepared_block is None and rc.prepares == ()
    assert rc.author == address_of(KEY)


def test_stripped_round_change_keeps_its_author() -> None:
    rc = build_round_change(OTHER, 4, 1, (0, DIGEST, BLOCK, prepares()))
    stripped = decode_message(strip_round_change(rc), expect=ROUND_CHANGE)
    assert stripped.author == address_of(OTHER)


def flip(raw: bytes, index: int) -> bytes:
    out = bytearray(raw)
    out[index] ^= 0x01
    return bytes(out)


@pytest.mark.parametrize("message", samples(), ids=lambda m: type(m).__name__)
def test_tampered_signature_or_payload_never_yields_the_author(
    message: Prepare | Commit | RoundChange | Proposal,
) -> None:
    for index in (-1, -2, -40, len(message.raw) // 2):
        try:
            decoded = decode_message(flip(message.raw, index))
        except InvalidMessage:
            continue
        assert decoded.author != message.author


def test_tampered_round_change_block_keeps_author_but_not_hash() -> None:
    # The block rides beside the signed part; the core checks it hashes to the claim.
    rc = build_round_change(KEY, 9, 2, (1, DIGEST, BLOCK, ()))
    code, payload, signature = rlp.decode(rc.raw)
    items = rlp.decode(payload)
    items[4] = [b"\xc0", b"other body"]
    forged = decode_message(rlp.encode([code, rlp.encode(items), signature]))
    assert isinstance(forged, RoundChange) and forged.author == rc.author
    assert forged.prepared_block_hash == DIGEST  # the signed claim is unchanged


def wire(code: int, payload: list[object], key: bytes = KEY) -> bytes:
    from eth_hash.auto import keccak

    body = rlp.encode(payload)
    signed = rlp.encode(payload[:4]) if code == ROUND_CHANGE else body
    return rlp.encode([code, body, sign(key, keccak(bytes([code]) + signed))])


@pytest.mark.parametrize(
    ("raw", "why"),
    [
        (b"\x01\x02", "not RLP"),
        (rlp.encode([PREPARE, b""]), "two items"),
        (rlp.encode([PREPARE, rlp.encode([9, 0, DIGEST]), b"\x00" * 64]), "short signature"),
        (wire(0x16, [9, 0, DIGEST]), "unknown code"),
        (wire(PREPARE, [9, 0, DIGEST[:31]]), "short hash"),
        (wire(PREPARE, [9, 0, DIGEST, b""]), "extra item"),
        (wire(PREPARE, [b"\x00\x09", 0, DIGEST]), "non-canonical height"),
        (wire(PREPARE, [9, 2**31, DIGEST]), "round too large"),
        (wire(0x14, [9, 0, DIGEST, b"\x01" * 64]), "short seal"),
        (wire(ROUND_CHANGE, [9, 1, 0, [], [], []]), "round without hash"),
        (wire(ROUND_CHANGE, [9, 1, [], [], [b"\xc0", b""], []]), "block without prepared"),
        (wire(ROUND_CHANGE, [9, 1, [], []]), "four items"),
        (wire(0x12, [9, 0, [b"\xc0"], [], []]), "block of one item"),
        (wire(0x12, [9, 0, [b"\xc0", b""], [b"junk"], []]), "junk justification"),
        (
            wire(
                0x12,
                [
                    9,
                    0,
                    [b"\xc0", b""],
                    [],
                    [build_commit(KEY, 9, 0, DIGEST, sign(KEY, DIGEST)).raw],
                ],
            ),
            "commit as prepare justification",
        ),
        (wire(0x12, [9, 0, [b"\xc0", b""], [], [b""] * 1025]), "too many entries"),
    ],
)
def test_malformed_messages_are_rejected(raw: bytes, why: str) -> None:
    with pytest.raises(InvalidMessage):
        decode_message(raw)


def test_oversized_message_is_rejected_before_decoding() -> None:
    with pytest.raises(InvalidMessage, match="exceeds"):
        decode_message(b"\x00" * (MAX_MESSAGE_SIZE + 1))


def test_proposal_with_unstripped_round_change_is_rejected() -> None:
    rc = build_round_change(KEY, 9, 2, (1, DIGEST, BLOCK, prepares()))
    raw = wire(0x12, [9, 2, [b"\xc0", b""], [rc.raw], [p.raw for p in prepares()]])
    with pytest.raises(InvalidMessage, match="without block"):
        decode_message(raw)


def test_unknown_author_is_refused_before_justifications_are_checked() -> None:
    seen: list[tuple[int, bytes]] = []

    def known(height: int, author: bytes) -> bool:
        seen.append((height, author))
        return False

    with pytest.raises(InvalidMessage, match="not a validator"):
        decode_message(samples()[-1].raw, is_known_author=known)
    assert seen == [(9, address_of(KEY))]  # nested messages were never opened
