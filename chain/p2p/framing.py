"""Length-prefixed frames, sans-IO.

A frame is ``length (4 bytes, big-endian) ‖ type (1 byte) ‖ payload`` where
``length`` counts the payload only. Limits are per message type, so a peer cannot
make us buffer 16 MiB for a message that is never more than a few hundred bytes;
a header announcing more than its type's limit fails before any payload is read.
The decoder holds at most one incomplete frame, never more than the largest limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from chain.p2p.errors import FrameTooLarge

HEADER_SIZE = 5
MAX_LENGTH_FIELD = 2**32 - 1
DEFAULT_MAX_FRAME = 16 * 1024 * 1024


@dataclass(frozen=True)
class Frame:
    message_type: int
    payload: bytes


@dataclass(frozen=True)
class FrameLimits:
    """Largest payload accepted per message type; ``default`` for types not listed."""

    default: int = DEFAULT_MAX_FRAME
    per_type: Mapping[int, int] = field(default_factory=dict)

    def limit_for(self, message_type: int) -> int:
        return self.per_type.get(message_type, self.default)

    @property
    def largest(self) -> int:
        return max([self.default, *self.per_type.values()])


def encode_frame(message_type: int, payload: bytes, limits: FrameLimits | None = None) -> bytes:
    """The wire form of one frame; raises FrameTooLarge if we would break our own limit."""
    if not 0 <= message_type <= 0xFF:
        raise ValueError(f"message type must fit in one byte, got {message_type}")
    limit = (limits or FrameLimits()).limit_for(message_type)
    if len(payload) > min(limit, MAX_LENGTH_FIELD):
        raise FrameTooLarge(message_type, len(payload), limit)
    return len(payload).to_bytes(4, "big") + bytes([message_type]) + payload


class FrameDecoder:
    """Feed it bytes as they arrive; it returns the frames completed so far.

    After it raises FrameTooLarge the stream cannot be resynchronised: the caller
    closes the connection (frames completed earlier in the same chunk go with it),
    and further ``feed`` calls raise again.
    """

    def __init__(self, limits: FrameLimits | None = None) -> None:
        self._limits = limits or FrameLimits()
        self._buffer = bytearray()
        self._header: tuple[int, int] | None = None  # (type, length) of the frame being read
        self._failed: FrameTooLarge | None = None

    @property
    def buffered(self) -> int:
        """Bytes held for the incomplete frame (header included)."""
        return len(self._buffer) + (HEADER_SIZE if self._header else 0)

    def feed(self, data: bytes) -> list[Frame]:
        if self._failed is not None:
            raise self._failed
        frames: list[Frame] = []
        view = memoryview(data)
        while view:
            if self._header is None:
                take = HEADER_SIZE - len(self._buffer)
                self._buffer += view[:take]
                view = view[take:]
                if len(self._buffer) < HEADER_SIZE:
                    break
                length = int.from_bytes(self._buffer[:4], "big")
                message_type = self._buffer[4]
                self._buffer.clear()
                limit = self._limits.limit_for(message_type)
                if length > limit:
                    self._failed = FrameTooLarge(message_type, length, limit)
                    raise self._failed
                self._header = (message_type, length)
            message_type, length = self._header
            take = length - len(self._buffer)
            self._buffer += view[:take]
            view = view[take:]
            if len(self._buffer) == length:
                frames.append(Frame(message_type, bytes(self._buffer)))
                self._buffer.clear()
                self._header = None
        return frames
