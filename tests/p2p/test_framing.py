"""Frame decoder: table-driven, no fixtures, no sockets."""

from __future__ import annotations

import pytest

from chain.p2p.errors import FrameTooLarge
from chain.p2p.framing import HEADER_SIZE, Frame, FrameDecoder, FrameLimits, encode_frame

LIMITS = FrameLimits(default=100, per_type={0x12: 10, 0x21: 1000})


def header(length: int, message_type: int) -> bytes:
    return length.to_bytes(4, "big") + bytes([message_type])


@pytest.mark.parametrize(
    ("chunks", "expected"),
    [
        ([b""], []),
        ([header(3, 1) + b"abc"], [Frame(1, b"abc")]),
        ([header(0, 4)], [Frame(4, b"")]),
        ([header(0, 4) + header(0, 5)], [Frame(4, b""), Frame(5, b"")]),
        # header split anywhere, payload split anywhere
        ([b"\x00\x00", b"\x00\x03\x01a", b"b", b"c"], [Frame(1, b"abc")]),
        ([*(bytes([b]) for b in header(2, 7) + b"hi")], [Frame(7, b"hi")]),
        # several frames in one chunk, a partial third kept for later
        ([header(1, 1) + b"x" + header(1, 2) + b"y" + header(5, 3) + b"ab"],
         [Frame(1, b"x"), Frame(2, b"y")]),
        ([header(1, 1) + b"x" + header(2, 3), b"z", b"z" + header(0, 9)[:2], header(0, 9)[2:]],
         [Frame(1, b"x"), Frame(3, b"zz"), Frame(9, b"")]),
        # exactly at the limits
        ([header(10, 0x12) + b"t" * 10], [Frame(0x12, b"t" * 10)]),
        ([header(100, 0x01) + b"d" * 100], [Frame(0x01, b"d" * 100)]),
        ([header(1000, 0x21) + b"b" * 1000], [Frame(0x21, b"b" * 1000)]),
    ],
)
def test_decoder_frames(chunks: list[bytes], expected: list[Frame]) -> None:
    decoder = FrameDecoder(LIMITS)
    frames = [frame for chunk in chunks for frame in decoder.feed(chunk)]
    assert frames == expected


@pytest.mark.parametrize(
    ("data", "message_type", "length", "limit"),
    [
        (header(11, 0x12), 0x12, 11, 10),  # over a per-type limit
        (header(101, 0x01), 0x01, 101, 100),  # over the default
        (header(1001, 0x21), 0x21, 1001, 1000),
        (header(2**32 - 1, 0x21), 0x21, 2**32 - 1, 1000),
        # a good frame, then a bad header in the same chunk
        (header(1, 1) + b"x" + header(11, 0x12), 0x12, 11, 10),
    ],
)
def test_decoder_refuses_a_header_over_its_limit(
    data: bytes, message_type: int, length: int, limit: int
) -> None:
    decoder = FrameDecoder(LIMITS)
    with pytest.raises(FrameTooLarge) as raised:
        decoder.feed(data)
    assert (raised.value.message_type, raised.value.length, raised.value.limit) == (
        message_type, length, limit,
    )
    assert raised.value.reason == "frame_too_large"
    with pytest.raises(FrameTooLarge):  # the stream is dead for good
        decoder.feed(header(0, 1))


def test_decoder_never_buffers_more_than_one_frame() -> None:
    decoder = FrameDecoder(LIMITS)
    # Refused from the header alone: the payload is never buffered.
    with pytest.raises(FrameTooLarge):
        decoder.feed(header(10**6, 0x21) + b"\x00" * 5000)
    decoder = FrameDecoder(LIMITS)
    stream = b"".join(header(1000, 0x21) + b"b" * 1000 for _ in range(20))
    largest = 0
    for start in range(0, len(stream), 777):
        decoder.feed(stream[start:start + 777])
        largest = max(largest, decoder.buffered)
    assert largest <= HEADER_SIZE + LIMITS.largest
    assert decoder.buffered == 0


@pytest.mark.parametrize(
    ("message_type", "payload"), [(0x01, b""), (0x12, b"t" * 10), (0xFF, b"\x00" * 100)]
)
def test_encode_round_trips(message_type: int, payload: bytes) -> None:
    assert FrameDecoder(LIMITS).feed(encode_frame(message_type, payload, LIMITS)) == [
        Frame(message_type, payload)
    ]


@pytest.mark.parametrize(("message_type", "size"), [(0x12, 11), (0x01, 101)])
def test_encode_refuses_what_the_peer_would_refuse(message_type: int, size: int) -> None:
    with pytest.raises(FrameTooLarge):
        encode_frame(message_type, b"x" * size, LIMITS)


def test_encode_refuses_a_type_beyond_one_byte() -> None:
    with pytest.raises(ValueError):
        encode_frame(0x100, b"", LIMITS)
