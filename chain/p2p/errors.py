"""Errors of the peer-to-peer layer.

Two kinds, kept apart as in h11: ``PeerError`` is a remote peer misbehaving or
being refused (the host logs it and closes that one connection); ``P2PError``
subclasses that are not ``PeerError`` are ours or the caller's (bad config, bad
arguments, a request that got no answer).
"""

from __future__ import annotations

from chain.errors import ChainError


class P2PError(ChainError):
    """Base of every error raised by ``chain.p2p``."""


class PeerError(P2PError):
    """A remote peer sent something invalid or is not allowed; close its connection.

    ``reason`` is a stable code (for metrics and tests); the message says what happened.
    Codes: frame_too_large, unknown_message_type, malformed_message, bad_certificate,
    not_allowed, self_connection, protocol_version, bad_hello_signature,
    node_id_mismatch, wrong_chain_id, wrong_genesis, unexpected_message,
    protocol_violation.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class FrameTooLarge(PeerError):
    def __init__(self, message_type: int, length: int, limit: int) -> None:
        super().__init__(
            "frame_too_large",
            f"frame of type 0x{message_type:02x} announces {length} bytes, limit is {limit}",
        )
        self.message_type = message_type
        self.length = length
        self.limit = limit


class MalformedMessage(PeerError):
    def __init__(self, message: str) -> None:
        super().__init__("malformed_message", message)


class InvalidCertificate(P2PError):
    """A certificate is not a consortium node certificate (no or a bad node id SAN)."""


class P2PConfigError(P2PError):
    """The local P2P configuration or TLS files are wrong; the message says what to fix."""


class PeerNotConnected(P2PError):
    """No established connection to the requested node id."""


class RequestTimeout(P2PError):
    """A peer did not answer a request in time."""


class PeerDisconnected(P2PError):
    """The peer went away before answering a request."""
