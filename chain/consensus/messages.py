"""QBFT messages (Besu codes) and their signed wire form.

Wire form of every message: RLP([code, payload, signature]) with
signature = sign(keccak(bytes([code]) + signed_part)). For PROPOSAL, PREPARE and
COMMIT the signed part is the whole payload. For ROUND_CHANGE it is
RLP([height, round, prepared_round, prepared_block_hash]) only (Besu's
SignedData<RoundChangePayload>): the prepared block and its prepares travel beside
it, so a proposal can carry a quorum of round changes stripped of their blocks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import rlp
from eth_hash.auto import keccak

from chain.consensus.block_encoding import decode_uint
from chain.consensus.crypto import address_of, recover_address, sign
from chain.consensus.errors import InvalidMessage, InvalidSignature

PROPOSAL = 0x12
PREPARE = 0x13
COMMIT = 0x14
ROUND_CHANGE = 0x15

MAX_MESSAGE_SIZE = 16 * 1024 * 1024
MAX_JUSTIFICATION = 1024  # entries in any justification list
MAX_ROUND = 2**31 - 1


@dataclass(frozen=True)
class ProposedBlock:
    """A header (Cancun RLP) and a body the core never interprets."""

    header_rlp: bytes
    body: bytes


@dataclass(frozen=True)
class Prepare:
    height: int
    round: int
    block_hash: bytes
    author: bytes
    raw: bytes


@dataclass(frozen=True)
class Commit:
    height: int
    round: int
    block_hash: bytes
    commit_seal: bytes
    author: bytes
    raw: bytes


@dataclass(frozen=True)
class RoundChange:
    height: int
    round: int
    prepared_round: int | None
    prepared_block_hash: bytes | None
    prepared_block: ProposedBlock | None
    prepares: tuple[Prepare, ...]
    author: bytes
    raw: bytes


@dataclass(frozen=True)
class Proposal:
    height: int
    round: int
    block: ProposedBlock
    round_changes: tuple[RoundChange, ...]
    prepares: tuple[Prepare, ...]
    author: bytes
    raw: bytes


Message = Proposal | Prepare | Commit | RoundChange


def _seal(private_key: bytes, code: int, signed_part: bytes, payload: bytes) -> tuple[bytes, bytes]:
    signature = sign(private_key, keccak(bytes([code]) + signed_part))
    return rlp.encode([code, payload, signature]), address_of(private_key)


def _block_item(block: ProposedBlock | None) -> list[bytes]:
    return [] if block is None else [block.header_rlp, block.body]


def build_prepare(private_key: bytes, height: int, round_: int, block_hash: bytes) -> Prepare:
    payload = rlp.encode([height, round_, block_hash])
    raw, author = _seal(private_key, PREPARE, payload, payload)
    return Prepare(height, round_, block_hash, author, raw)


def build_commit(
    private_key: bytes, height: int, round_: int, block_hash: bytes, commit_seal: bytes
) -> Commit:
    payload = rlp.encode([height, round_, block_hash, commit_seal])
    raw, author = _seal(private_key, COMMIT, payload, payload)
    return Commit(height, round_, block_hash, commit_seal, author, raw)


def _round_change_signed_part(
    height: int, round_: int, prepared_round: int | None, prepared_hash: bytes | None
) -> list[object]:
    return [
        height,
        round_,
        [] if prepared_round is None else prepared_round,
        [] if prepared_hash is None else prepared_hash,
    ]


def build_round_change(
    private_key: bytes,
    height: int,
    round_: int,
    prepared: tuple[int, bytes, ProposedBlock, Sequence[Prepare]] | None,
) -> RoundChange:
    """``prepared`` = (prepared_round, block_hash, block, prepares) or None."""
    p_round: int | None = None
    p_hash: bytes | None = None
    p_block: ProposedBlock | None = None
    prepares: tuple[Prepare, ...] = ()
    if prepared is not None:
        p_round, p_hash, p_block, prepares = (
            prepared[0],
            prepared[1],
            prepared[2],
            tuple(prepared[3]),
        )
    head = _round_change_signed_part(height, round_, p_round, p_hash)
    payload = rlp.encode([*head, _block_item(p_block), [p.raw for p in prepares]])
    raw, author = _seal(private_key, ROUND_CHANGE, rlp.encode(head), payload)
    return RoundChange(height, round_, p_round, p_hash, p_block, prepares, author, raw)


def strip_round_change(message: RoundChange) -> bytes:
    """The wire form without the prepared block and prepares; still verifies."""
    _, _, signature = rlp.decode(message.raw)
    head = _round_change_signed_part(
        message.height, message.round, message.prepared_round, message.prepared_block_hash
    )
    return rlp.encode([ROUND_CHANGE, rlp.encode([*head, [], []]), signature])


def build_proposal(
    private_key: bytes,
    height: int,
    round_: int,
    block: ProposedBlock,
    round_changes: Sequence[RoundChange],
    prepares: Sequence[Prepare],
) -> Proposal:
    stripped = [strip_round_change(rc) for rc in round_changes]
    payload = rlp.encode([height, round_, _block_item(block), stripped, [p.raw for p in prepares]])
    raw, author = _seal(private_key, PROPOSAL, payload, payload)
    return Proposal(
        height,
        round_,
        block,
        _nested_round_changes(stripped),
        tuple(prepares),
        author,
        raw,
    )


# --- decoding -------------------------------------------------------------------


def _uint(item: object, what: str, limit: int | None = None) -> int:
    value = decode_uint(item, what, InvalidMessage)
    if limit is not None and value > limit:
        raise InvalidMessage(f"{what} {value} exceeds {limit}")
    return value


def _bytes(item: object, length: int, what: str) -> bytes:
    if not isinstance(item, bytes) or len(item) != length:
        raise InvalidMessage(f"{what} must be {length} bytes")
    return item


def _list(item: object, what: str, limit: int = MAX_JUSTIFICATION) -> list[object]:
    if not isinstance(item, list):
        raise InvalidMessage(f"{what} must be an RLP list")
    if len(item) > limit:
        raise InvalidMessage(f"{what} has {len(item)} entries, limit {limit}")
    return item


def _block(item: object, optional: bool) -> ProposedBlock | None:
    items = _list(item, "block", 2)
    if not items and optional:
        return None
    if len(items) != 2:
        raise InvalidMessage("block must be [header_rlp, body]")
    header, body = items
    if not isinstance(header, bytes) or not isinstance(body, bytes):
        raise InvalidMessage("block header and body must be byte strings")
    return ProposedBlock(header, body)


def _nested_prepares(item: object) -> tuple[Prepare, ...]:
    out = []
    for raw in _list(item, "prepare justification"):
        message = decode_message(raw, expect=PREPARE) if isinstance(raw, bytes) else None
        if not isinstance(message, Prepare):
            raise InvalidMessage("prepare justification entries must be signed PREPAREs")
        out.append(message)
    return tuple(out)


def _nested_round_changes(item: object) -> tuple[RoundChange, ...]:
    out = []
    for raw in _list(item, "round-change justification"):
        message = decode_message(raw, expect=ROUND_CHANGE) if isinstance(raw, bytes) else None
        if not isinstance(message, RoundChange):
            raise InvalidMessage("round-change justification entries must be ROUND_CHANGEs")
        if message.prepared_block is not None or message.prepares:
            raise InvalidMessage("justifying ROUND_CHANGEs travel without block and prepares")
        out.append(message)
    return tuple(out)


def decode_message(
    raw: bytes,
    expect: int | None = None,
    is_known_author: Callable[[int, bytes], bool] | None = None,
) -> Message:
    """Decode, validate the shape and recover the author; raises InvalidMessage.

    ``is_known_author(height, author)`` is asked before any nested signature is
    checked, so a stranger cannot make us verify a thousand justifications.
    """
    if len(raw) > MAX_MESSAGE_SIZE:
        raise InvalidMessage(f"message of {len(raw)} bytes exceeds {MAX_MESSAGE_SIZE}")
    try:
        outer = rlp.decode(raw)
    except rlp.exceptions.DecodingError as exc:
        raise InvalidMessage("message is not valid RLP") from exc
    if not isinstance(outer, list) or len(outer) != 3:
        raise InvalidMessage("message must be RLP [code, payload, signature]")
    code = _uint(outer[0], "message code", 0xFF)
    if expect is not None and code != expect:
        raise InvalidMessage(f"expected message code {expect:#x}, got {code:#x}")
    payload_raw = outer[1]
    if not isinstance(payload_raw, bytes):
        raise InvalidMessage("payload must be a byte string")
    signature = _bytes(outer[2], 65, "signature")
    try:
        payload = rlp.decode(payload_raw)
    except rlp.exceptions.DecodingError as exc:
        raise InvalidMessage("payload is not valid RLP") from exc
    if not isinstance(payload, list) or len(payload) < 2:
        raise InvalidMessage("payload must be an RLP list")
    height = _uint(payload[0], "height")
    round_ = _uint(payload[1], "round", MAX_ROUND)
    signed_part = payload_raw
    if code == ROUND_CHANGE:
        if len(payload) != 6:
            raise InvalidMessage("ROUND_CHANGE payload must have 6 items")
        signed_part = rlp.encode(payload[:4])
    try:
        author = recover_address(keccak(bytes([code]) + signed_part), signature)
    except InvalidSignature as exc:
        raise InvalidMessage(f"bad signature: {exc}") from exc
    if is_known_author is not None and not is_known_author(height, author):
        raise InvalidMessage("author is not a validator at that height")

    if code == PREPARE:
        if len(payload) != 3:
            raise InvalidMessage("PREPARE payload must have 3 items")
        return Prepare(height, round_, _bytes(payload[2], 32, "block hash"), author, raw)
    if code == COMMIT:
        if len(payload) != 4:
            raise InvalidMessage("COMMIT payload must have 4 items")
        return Commit(
            height,
            round_,
            _bytes(payload[2], 32, "block hash"),
            _bytes(payload[3], 65, "commit seal"),
            author,
            raw,
        )
    if code == ROUND_CHANGE:
        return _decode_round_change(payload, height, round_, author, raw)
    if code == PROPOSAL:
        if len(payload) != 5:
            raise InvalidMessage("PROPOSAL payload must have 5 items")
        block = _block(payload[2], optional=False)
        if block is None:
            raise InvalidMessage("a PROPOSAL carries a block")
        rcs = _nested_round_changes(payload[3])
        return Proposal(height, round_, block, rcs, _nested_prepares(payload[4]), author, raw)
    raise InvalidMessage(f"unknown message code {code:#x}")


def _decode_round_change(
    payload: list[object], height: int, round_: int, author: bytes, raw: bytes
) -> RoundChange:
    p_round_item, p_hash_item = payload[2], payload[3]
    p_round = None if p_round_item == [] else _uint(p_round_item, "prepared round", MAX_ROUND)
    p_hash = None if p_hash_item == [] else _bytes(p_hash_item, 32, "prepared block hash")
    if (p_round is None) != (p_hash is None):
        raise InvalidMessage("prepared round and prepared block hash come together or not at all")
    block = _block(payload[4], optional=True)
    prepares = _nested_prepares(payload[5])
    if p_round is None and (block is not None or prepares):
        raise InvalidMessage("an unprepared ROUND_CHANGE carries no block or prepares")
    return RoundChange(height, round_, p_round, p_hash, block, prepares, author, raw)
