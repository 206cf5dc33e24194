"""Message payloads: round trips and malformed input, table-driven."""

from __future__ import annotations

import pytest
import rlp

from chain.p2p.errors import MalformedMessage, PeerError
from chain.p2p.messages import (
    DEFAULT_FRAME_LIMITS,
    Blocks,
    Challenge,
    Consensus,
    GetBlocks,
    Hello,
    Message,
    MessageType,
    NewBlock,
    Ping,
    Pong,
    Status,
    Transaction,
    decode_message,
    encode_message,
)

HELLO = Hello(1, b"\x04" * 64, b"\x05" * 65, 20211, b"\x06" * 32, 42, b"\x07" * 32, True)


@pytest.mark.parametrize(
    "message",
    [
        Challenge(b"\x01" * 32),
        HELLO,
        Hello(1, b"\x04" * 64, b"\x05" * 65, 1, b"\x06" * 32, 0, b"\x07" * 32, False),
        Status(0, b"\x00" * 32),
        Status(2**64 - 1, b"\xff" * 32),
        Ping(1),
        Pong(0),
        Consensus(b"\xf8\x01qbft"),
        Consensus(b""),
        NewBlock(b"header", b"body"),
        Transaction(b"\x02raw"),
        GetBlocks(7, 0, 1),
        GetBlocks(7, 100, 128),
        Blocks(7, ()),
        Blocks(7, tuple((b"h%d" % i, b"b%d" % i) for i in range(128))),
    ],
)
def test_round_trip(message: Message) -> None:
    message_type, payload = encode_message(message)
    assert message_type == message.message_type
    assert decode_message(message_type, payload) == message


def payload_of(*fields: object) -> bytes:
    return rlp.encode(list(fields))


@pytest.mark.parametrize(
    ("message_type", "payload", "complaint"),
    [
        (MessageType.CHALLENGE, b"", "not RLP"),
        (MessageType.CHALLENGE, rlp.encode(b"\x01" * 32), "must be an RLP list"),
        (MessageType.CHALLENGE, payload_of(b"\x01" * 31), "32 bytes"),
        (MessageType.CHALLENGE, payload_of(b"\x01" * 32, b""), "1 fields"),
        (MessageType.STATUS, payload_of(b"\x00\x01", b"\x00" * 32), "leading zero"),
        (MessageType.STATUS, payload_of(2**64, b"\x00" * 32), "64 bits"),
        (MessageType.STATUS, payload_of([], b"\x00" * 32), "byte string"),
        (MessageType.HELLO, payload_of(1, b"\x04" * 64, b"\x05" * 64, 1, b"\x06" * 32, 0,
                                       b"\x07" * 32, 1), "signature must be 65"),
        (MessageType.HELLO, payload_of(1, b"\x04" * 64, b"\x05" * 65, 1, b"\x06" * 32, 0,
                                       b"\x07" * 32, 2), "is_validator"),
        (MessageType.GET_BLOCKS, payload_of(1, 0, 129), "max_count"),
        (MessageType.GET_BLOCKS, payload_of(1, 0, 0), "max_count"),
        (MessageType.BLOCKS, payload_of(1, [[b"h", b"b"]] * 129), "at most 128"),
        (MessageType.BLOCKS, payload_of(1, [[b"h"]]), "2 fields"),
        (MessageType.BLOCKS, payload_of(1, [b"h"]), "must be an RLP list"),
    ],
)
def test_malformed_payloads_are_refused(message_type: int, payload: bytes, complaint: str) -> None:
    with pytest.raises(MalformedMessage, match=complaint) as raised:
        decode_message(message_type, payload)
    assert raised.value.reason == "malformed_message"


def test_unknown_type_is_refused() -> None:
    with pytest.raises(PeerError) as raised:
        decode_message(0x7F, payload_of())
    assert raised.value.reason == "unknown_message_type"


@pytest.mark.parametrize(
    ("message_type", "limit"),
    [
        (MessageType.TX, 128 * 1024),
        (MessageType.BLOCKS, 16 * 1024 * 1024),
        (MessageType.CONSENSUS, 16 * 1024 * 1024),
        (MessageType.CHALLENGE, 64),
        (0x7F, 16 * 1024 * 1024),
    ],
)
def test_default_frame_limits(message_type: int, limit: int) -> None:
    assert DEFAULT_FRAME_LIMITS.limit_for(message_type) == limit


def test_default_limits_hold_the_largest_legal_small_messages() -> None:
    for message in (
        Challenge(b"\xff" * 32),
        Hello(2**64 - 1, b"\xff" * 64, b"\xff" * 65, 2**64 - 1, b"\xff" * 32, 2**64 - 1,
              b"\xff" * 32, True),
        Status(2**64 - 1, b"\xff" * 32),
        Ping(2**64 - 1),
        Pong(2**64 - 1),
        GetBlocks(2**64 - 1, 2**64 - 1, 128),
    ):
        message_type, payload = encode_message(message)
        assert len(payload) <= DEFAULT_FRAME_LIMITS.limit_for(message_type), message
