"""The transport under the host: TLS contexts, peer addresses, frames off a stream."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from dataclasses import dataclass
from pathlib import Path

from chain.p2p.errors import P2PConfigError, PeerError
from chain.p2p.framing import Frame, FrameDecoder, FrameLimits
from chain.p2p.messages import Message, MessageType, decode_message


@dataclass(frozen=True)
class TlsFiles:
    """PEM files: the consortium CA certificate, this node's certificate and its TLS key."""

    ca_certificate: Path
    certificate: Path
    private_key: Path


def parse_address(address: str) -> tuple[str, int]:
    """Split "host:port" (IPv6 as "[::1]:port"); raises P2PConfigError when malformed."""
    host, sep, port = address.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise P2PConfigError(f"peer address {address!r} must be host:port")
    return host.strip("[]"), int(port)


def build_ssl_context(tls: TlsFiles, *, server_side: bool) -> ssl.SSLContext:
    """TLS 1.3 only, a certificate from the consortium CA required on both sides.

    Host names are not checked: a node is identified by the node id in its
    certificate, which the host compares after the handshake.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER if server_side else ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_3
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    context.check_hostname = False
    context.verify_mode = ssl.CERT_REQUIRED
    context.verify_flags |= ssl.VERIFY_X509_STRICT
    try:
        context.load_verify_locations(cafile=str(tls.ca_certificate))
        context.load_cert_chain(certfile=str(tls.certificate), keyfile=str(tls.private_key))
    except (OSError, ssl.SSLError) as exc:
        raise P2PConfigError(
            f"cannot load TLS files (CA {tls.ca_certificate}, certificate {tls.certificate}, "
            f"key {tls.private_key}): {exc}"
        ) from exc
    return context


class FrameStream:
    """Frames from a stream reader; frames read ahead during the handshake are kept."""

    def __init__(self, reader: asyncio.StreamReader, limits: FrameLimits, read_size: int) -> None:
        self._reader = reader
        self._decoder = FrameDecoder(limits)
        self._ready: deque[Frame] = deque()
        self._read_size = read_size

    async def next(self) -> Frame | None:
        """The next frame, or None at end of stream."""
        while not self._ready:
            data = await self._reader.read(self._read_size)
            if not data:
                return None
            self._ready.extend(self._decoder.feed(data))
        return self._ready.popleft()

    async def next_message(self, expected: type[Message], what: str) -> Message:
        frame = await self.next()
        if frame is None:
            raise ConnectionResetError(f"connection closed before {what}")
        message = decode_message(frame.message_type, frame.payload)
        if not isinstance(message, expected):
            raise PeerError(
                "unexpected_message",
                f"expected {what}, got {MessageType(frame.message_type).name}",
            )
        return message


async def wait_closed(writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(Exception):
        await writer.wait_closed()


def format_address(peername: object) -> str:
    if isinstance(peername, tuple) and len(peername) >= 2:
        host, port = peername[0], peername[1]
        return f"[{host}]:{port}" if ":" in str(host) else f"{host}:{port}"
    return str(peername)


def describe_error(exc: BaseException) -> str:
    if isinstance(exc, ssl.SSLError) and exc.reason:
        detail = getattr(exc, "verify_message", None)
        return f"{exc.reason}: {detail}" if detail else str(exc.reason)
    return str(exc) or type(exc).__name__
