"""P2P message types and their RLP payloads, pure.

Every payload is one RLP list. Consensus messages, transactions, headers and
bodies travel as opaque bytes: checking them is the node's job, not the wire's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import ClassVar

import rlp
from rlp.exceptions import DecodingError

from chain.p2p.errors import MalformedMessage, PeerError
from chain.p2p.framing import FrameLimits

PROTOCOL_VERSION = 1
CHALLENGE_SIZE = 32
PUBLIC_KEY_SIZE = 64
SIGNATURE_SIZE = 65
HASH_SIZE = 32
MAX_BLOCKS_PER_REQUEST = 128
MAX_UINT64 = 2**64 - 1


class MessageType(IntEnum):
    CHALLENGE = 0x01
    HELLO = 0x02
    STATUS = 0x03
    PING = 0x04
    PONG = 0x05
    CONSENSUS = 0x10
    NEW_BLOCK = 0x11
    TX = 0x12
    GET_BLOCKS = 0x20
    BLOCKS = 0x21


KIB = 1024
MIB = 1024 * KIB

DEFAULT_FRAME_LIMITS = FrameLimits(
    default=16 * MIB,
    per_type={
        MessageType.CHALLENGE: 64,
        MessageType.HELLO: 1 * KIB,
        MessageType.STATUS: 128,
        MessageType.PING: 32,
        MessageType.PONG: 32,
        MessageType.GET_BLOCKS: 64,
        MessageType.TX: 128 * KIB,
        # A QBFT proposal carries a whole block, so consensus gets the block limit.
        MessageType.CONSENSUS: 16 * MIB,
        MessageType.NEW_BLOCK: 16 * MIB,
        MessageType.BLOCKS: 16 * MIB,
    },
)


@dataclass(frozen=True)
class Challenge:
    """First frame each side sends: a fresh random nonce the other side signs."""

    message_type: ClassVar[MessageType] = MessageType.CHALLENGE
    nonce: bytes


@dataclass(frozen=True)
class Hello:
    """Proof of the secp256k1 node key (signature over the peer's challenge) and status."""

    message_type: ClassVar[MessageType] = MessageType.HELLO
    protocol_version: int
    public_key: bytes
    signature: bytes
    chain_id: int
    genesis_hash: bytes
    head_number: int
    head_hash: bytes
    is_validator: bool


@dataclass(frozen=True)
class Status:
    """Sent to every peer when the local head changes."""

    message_type: ClassVar[MessageType] = MessageType.STATUS
    head_number: int
    head_hash: bytes


@dataclass(frozen=True)
class Ping:
    message_type: ClassVar[MessageType] = MessageType.PING
    nonce: int


@dataclass(frozen=True)
class Pong:
    message_type: ClassVar[MessageType] = MessageType.PONG
    nonce: int


@dataclass(frozen=True)
class Consensus:
    """A raw QBFT message (chain.consensus wire form), relayed once per peer."""

    message_type: ClassVar[MessageType] = MessageType.CONSENSUS
    raw: bytes


@dataclass(frozen=True)
class NewBlock:
    message_type: ClassVar[MessageType] = MessageType.NEW_BLOCK
    header_rlp: bytes
    body: bytes


@dataclass(frozen=True)
class Transaction:
    message_type: ClassVar[MessageType] = MessageType.TX
    raw: bytes


@dataclass(frozen=True)
class GetBlocks:
    message_type: ClassVar[MessageType] = MessageType.GET_BLOCKS
    request_id: int
    from_number: int
    max_count: int


@dataclass(frozen=True)
class Blocks:
    """Answer to GetBlocks: consecutive blocks from ``from_number``, possibly fewer."""

    message_type: ClassVar[MessageType] = MessageType.BLOCKS
    request_id: int
    blocks: tuple[tuple[bytes, bytes], ...]


Message = (
    Challenge | Hello | Status | Ping | Pong | Consensus | NewBlock | Transaction
    | GetBlocks | Blocks
)
GossipMessage = Consensus | NewBlock | Transaction


def encode_message(message: Message) -> tuple[MessageType, bytes]:
    """(type, RLP payload) of a message; the frame is built by ``framing.encode_frame``."""
    return message.message_type, rlp.encode(_fields(message))


def _fields(message: Message) -> list[object]:
    match message:
        case Challenge(nonce):
            return [nonce]
        case Hello():
            return [
                message.protocol_version, message.public_key, message.signature,
                message.chain_id, message.genesis_hash, message.head_number,
                message.head_hash, int(message.is_validator),
            ]
        case Status(number, head_hash):
            return [number, head_hash]
        case Ping(nonce) | Pong(nonce):
            return [nonce]
        case Consensus(raw) | Transaction(raw):
            return [raw]
        case NewBlock(header_rlp, body):
            return [header_rlp, body]
        case GetBlocks(request_id, from_number, max_count):
            return [request_id, from_number, max_count]
        case Blocks(request_id, blocks):
            return [request_id, [[header, body] for header, body in blocks]]
    raise TypeError(f"not a p2p message: {message!r}")


def decode_message(message_type: int, payload: bytes) -> Message:
    """Parse one frame's payload; raises PeerError for unknown types, MalformedMessage else."""
    try:
        kind = MessageType(message_type)
    except ValueError:
        raise PeerError(
            "unknown_message_type", f"unknown message type 0x{message_type:02x}"
        ) from None
    try:
        item = rlp.decode(payload, strict=True)
    except DecodingError as exc:
        raise MalformedMessage(f"{kind.name} payload is not RLP: {exc}") from exc
    fields = _list(item, kind.name)
    return _DECODERS[kind](fields)


def _decode_challenge(f: list[object]) -> Challenge:
    (nonce,) = _arity(f, 1, "CHALLENGE")
    return Challenge(_bytes(nonce, "CHALLENGE nonce", CHALLENGE_SIZE))


def _decode_hello(f: list[object]) -> Hello:
    version, public_key, signature, chain_id, genesis, number, head, validator = _arity(
        f, 8, "HELLO"
    )
    is_validator = _uint(validator, "HELLO is_validator")
    if is_validator not in (0, 1):
        raise MalformedMessage("HELLO is_validator must be 0 or 1")
    return Hello(
        protocol_version=_uint(version, "HELLO protocol_version"),
        public_key=_bytes(public_key, "HELLO public_key", PUBLIC_KEY_SIZE),
        signature=_bytes(signature, "HELLO signature", SIGNATURE_SIZE),
        chain_id=_uint(chain_id, "HELLO chain_id"),
        genesis_hash=_bytes(genesis, "HELLO genesis_hash", HASH_SIZE),
        head_number=_uint(number, "HELLO head_number"),
        head_hash=_bytes(head, "HELLO head_hash", HASH_SIZE),
        is_validator=bool(is_validator),
    )


def _decode_status(f: list[object]) -> Status:
    number, head = _arity(f, 2, "STATUS")
    return Status(_uint(number, "STATUS head_number"), _bytes(head, "STATUS head_hash", HASH_SIZE))


def _decode_ping(f: list[object]) -> Ping:
    (nonce,) = _arity(f, 1, "PING")
    return Ping(_uint(nonce, "PING nonce"))


def _decode_pong(f: list[object]) -> Pong:
    (nonce,) = _arity(f, 1, "PONG")
    return Pong(_uint(nonce, "PONG nonce"))


def _decode_consensus(f: list[object]) -> Consensus:
    (raw,) = _arity(f, 1, "CONSENSUS")
    return Consensus(_bytes(raw, "CONSENSUS message"))


def _decode_new_block(f: list[object]) -> NewBlock:
    header, body = _arity(f, 2, "NEW_BLOCK")
    return NewBlock(_bytes(header, "NEW_BLOCK header"), _bytes(body, "NEW_BLOCK body"))


def _decode_transaction(f: list[object]) -> Transaction:
    (raw,) = _arity(f, 1, "TX")
    return Transaction(_bytes(raw, "TX transaction"))


def _decode_get_blocks(f: list[object]) -> GetBlocks:
    request_id, from_number, max_count = _arity(f, 3, "GET_BLOCKS")
    count = _uint(max_count, "GET_BLOCKS max_count")
    if not 1 <= count <= MAX_BLOCKS_PER_REQUEST:
        raise MalformedMessage(
            f"GET_BLOCKS max_count must be 1..{MAX_BLOCKS_PER_REQUEST}, got {count}"
        )
    return GetBlocks(
        _uint(request_id, "GET_BLOCKS request_id"), _uint(from_number, "GET_BLOCKS from"), count
    )


def _decode_blocks(f: list[object]) -> Blocks:
    request_id, items = _arity(f, 2, "BLOCKS")
    entries = _list(items, "BLOCKS blocks")
    if len(entries) > MAX_BLOCKS_PER_REQUEST:
        raise MalformedMessage(
            f"BLOCKS carries {len(entries)} blocks, at most {MAX_BLOCKS_PER_REQUEST} allowed"
        )
    blocks = []
    for entry in entries:
        header, body = _arity(_list(entry, "BLOCKS entry"), 2, "BLOCKS entry")
        blocks.append((_bytes(header, "BLOCKS header"), _bytes(body, "BLOCKS body")))
    return Blocks(_uint(request_id, "BLOCKS request_id"), tuple(blocks))


_DECODERS: dict[MessageType, Callable[[list[object]], Message]] = {
    MessageType.CHALLENGE: _decode_challenge,
    MessageType.HELLO: _decode_hello,
    MessageType.STATUS: _decode_status,
    MessageType.PING: _decode_ping,
    MessageType.PONG: _decode_pong,
    MessageType.CONSENSUS: _decode_consensus,
    MessageType.NEW_BLOCK: _decode_new_block,
    MessageType.TX: _decode_transaction,
    MessageType.GET_BLOCKS: _decode_get_blocks,
    MessageType.BLOCKS: _decode_blocks,
}


def _list(item: object, what: str) -> list[object]:
    if not isinstance(item, list):
        raise MalformedMessage(f"{what} must be an RLP list")
    return item


def _arity(fields: list[object], n: int, what: str) -> list[object]:
    if len(fields) != n:
        raise MalformedMessage(f"{what} must have {n} fields, got {len(fields)}")
    return fields


def _bytes(item: object, what: str, size: int | None = None) -> bytes:
    if not isinstance(item, bytes):
        raise MalformedMessage(f"{what} must be a byte string")
    if size is not None and len(item) != size:
        raise MalformedMessage(f"{what} must be {size} bytes, got {len(item)}")
    return item


def _uint(item: object, what: str) -> int:
    """A canonical RLP unsigned integer (no leading zeros), at most 64 bits."""
    raw = _bytes(item, what)
    if raw[:1] == b"\x00":
        raise MalformedMessage(f"{what} has leading zero bytes")
    value = int.from_bytes(raw, "big")
    if value > MAX_UINT64:
        raise MalformedMessage(f"{what} does not fit in 64 bits")
    return value
