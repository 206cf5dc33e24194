"""The P2P host: mutual-TLS connections between consortium nodes, gossip and block requests.

Admission of a peer, in order, each refusal logged on ``citychain.p2p`` with why:

1. TLS 1.3 handshake, both sides presenting a certificate of the consortium CA;
2. the node id in the peer's certificate must pass ``Handlers.is_node_allowed``
   (the node evaluates the on-chain allowlist at its head) and not be our own;
3. CHALLENGE / HELLO (see ``handshake``): the peer proves the secp256k1 key of that
   node id and is on our chain id and genesis.

Then one connection per node id is kept: when two nodes dial each other at once,
both keep the connection dialed by the smaller node id.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
import secrets
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from chain.p2p.errors import (
    FrameTooLarge,
    InvalidCertificate,
    P2PConfigError,
    PeerDisconnected,
    PeerError,
    PeerNotConnected,
    RequestTimeout,
)
from chain.p2p.framing import Frame, FrameLimits, encode_frame
from chain.p2p.gossip import SeenCache, calculate_backoff, gossip_id
from chain.p2p.handshake import (
    LocalStatus,
    build_hello,
    node_id_of_public_key,
    public_key_of,
    validate_hello,
)
from chain.p2p.messages import (
    CHALLENGE_SIZE,
    DEFAULT_FRAME_LIMITS,
    MAX_BLOCKS_PER_REQUEST,
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
from chain.p2p.peer import BlockData, Peer, PeerInfo, keeps_new_connection
from chain.p2p.pki import node_id_from_certificate, node_id_from_certificate_pem
from chain.p2p.transport import (
    FrameStream,
    TlsFiles,
    build_ssl_context,
    describe_error,
    format_address,
    parse_address,
    wait_closed,
)

logger = logging.getLogger("citychain.p2p")

_GOSSIP_TYPES = (MessageType.CONSENSUS, MessageType.NEW_BLOCK, MessageType.TX)


class Handlers(Protocol):
    """What the node provides to the host. Called on the event loop: return quickly."""

    # These three may return False: "refused, do not relay it"; anything else relays.
    def on_consensus(self, node_id: bytes, raw: bytes) -> bool | None: ...

    def on_new_block(self, node_id: bytes, header_rlp: bytes, body: bytes) -> bool | None: ...

    def on_transaction(self, node_id: bytes, raw: bytes) -> bool | None: ...

    def on_status(self, node_id: bytes, number: int, head_hash: bytes) -> None: ...

    def serve_blocks(self, from_number: int, count: int) -> Sequence[BlockData]: ...

    def is_node_allowed(self, node_id: bytes) -> bool: ...

    def local_status(self) -> LocalStatus: ...


@dataclass(frozen=True)
class P2PConfig:
    listen_host: str = "0.0.0.0"
    listen_port: int = 30303  # 0 picks a free port (tests); see P2PHost.listen_port
    static_peers: tuple[str, ...] = ()  # "host:port", dialed and redialed for ever
    max_inbound: int = 64
    frame_limits: FrameLimits = DEFAULT_FRAME_LIMITS
    send_queue_size: int = 4096  # frames; a peer that lets more pile up is dropped
    handshake_timeout: float = 10.0
    ping_interval: float = 15.0
    idle_timeout: float = 45.0  # no frame for this long: the connection is dead
    backoff_initial: float = 0.5
    backoff_max: float = 30.0
    seen_cache_size: int = 65_536
    read_size: int = 64 * 1024


class P2PHost:
    def __init__(
        self,
        config: P2PConfig,
        node_private_key: bytes,
        tls: TlsFiles,
        handlers: Handlers,
    ) -> None:
        self._config = config
        self._key = node_private_key
        self._tls = tls
        self._handlers = handlers
        self.node_id = node_id_of_public_key(public_key_of(node_private_key))
        self._peers: dict[bytes, Peer] = {}
        self._seen = SeenCache(config.seen_cache_size)
        self._server: asyncio.Server | None = None
        self._server_context: ssl.SSLContext | None = None
        self._client_context: ssl.SSLContext | None = None
        self._dialers: list[asyncio.Task[None]] = []
        self._handshakes: set[asyncio.Task[None]] = set()
        self._address_ids: dict[str, bytes] = {}  # static peer address → node id it had
        self._request_ids = itertools.count(1)
        self._ping_nonces = itertools.count(1)
        self._random = random.Random()
        self._running = False
        self.listen_port = config.listen_port
        for address in config.static_peers:
            parse_address(address)

    # -- lifecycle ---------------------------------------------------------------

    async def start(self) -> None:
        """Check the TLS files, listen, and start dialing the static peers."""
        certificate_id = node_id_from_certificate_pem(self._tls.certificate.read_bytes())
        if certificate_id != self.node_id:
            raise P2PConfigError(
                f"TLS certificate {self._tls.certificate} is for node 0x{certificate_id.hex()}, "
                f"but the node key is node 0x{self.node_id.hex()}: issue a certificate for "
                "this node key"
            )
        self._server_context = build_ssl_context(self._tls, server_side=True)
        self._client_context = build_ssl_context(self._tls, server_side=False)
        self._server = await asyncio.start_server(
            self._on_inbound, self._config.listen_host, self._config.listen_port
        )
        self.listen_port = self._server.sockets[0].getsockname()[1]
        self._running = True
        logger.info("p2p listening on %s:%d as node 0x%s",
                    self._config.listen_host, self.listen_port, self.node_id.hex())
        self._dialers = [
            asyncio.create_task(self._dial_forever(address), name=f"p2p-dial-{address}")
            for address in self._config.static_peers
        ]

    async def stop(self) -> None:
        self._running = False
        if self._server is not None:
            self._server.close()
        tasks = [*self._dialers, *self._handshakes]
        for task in tasks:
            task.cancel()
        writers = []
        for peer in list(self._peers.values()):
            self._close(peer, "host stopping")
            tasks.extend(peer.tasks)
            writers.append(peer.writer)
        await asyncio.gather(*tasks, return_exceptions=True)
        if writers:
            # Let TLS close_notify go out; a peer that does not answer is not waited for.
            await asyncio.wait([asyncio.create_task(wait_closed(w)) for w in writers],
                               timeout=1.0)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self._dialers = []

    # -- what the node uses --------------------------------------------------------

    @property
    def peer_count(self) -> int:
        return len(self._peers)

    def peers(self) -> list[PeerInfo]:
        return [peer.info() for peer in self._peers.values()]

    def broadcast(self, message: Message, *, only_validators: bool = False) -> int:
        """Send to every connected peer (or validators only); returns how many got it.

        A gossip message (CONSENSUS, NEW_BLOCK, TX) is marked seen, so its echo
        from a peer is neither handled nor relayed again.
        """
        frame = self._frame(message)
        if message.message_type in _GOSSIP_TYPES:
            self._seen.add(gossip_id(message.message_type, frame[5:]))
        sent = 0
        for peer in list(self._peers.values()):
            if only_validators and not peer.is_validator:
                continue
            self._enqueue(peer, frame)
            sent += 1
        return sent

    def send(self, node_id: bytes, message: Message) -> None:
        peer = self._peers.get(node_id)
        if peer is None:
            raise PeerNotConnected(f"node 0x{node_id.hex()} is not connected")
        self._enqueue(peer, self._frame(message))

    async def request_blocks(
        self, node_id: bytes, from_number: int, count: int, timeout: float
    ) -> list[BlockData]:
        """Up to ``count`` consecutive blocks from ``from_number``, as the peer serves them.

        Raises PeerNotConnected, RequestTimeout, or PeerDisconnected.
        """
        if not 1 <= count <= MAX_BLOCKS_PER_REQUEST:
            raise ValueError(f"count must be 1..{MAX_BLOCKS_PER_REQUEST}, got {count}")
        peer = self._peers.get(node_id)
        if peer is None:
            raise PeerNotConnected(f"node 0x{node_id.hex()} is not connected")
        request_id = next(self._request_ids)
        future: asyncio.Future[list[BlockData]] = asyncio.get_running_loop().create_future()
        peer.pending[request_id] = (future, count)
        try:
            self._enqueue(peer, self._frame(GetBlocks(request_id, from_number, count)))
            return await asyncio.wait_for(future, timeout)
        except TimeoutError:
            raise RequestTimeout(
                f"{peer.label} did not answer GET_BLOCKS({from_number}, {count}) "
                f"within {timeout} s"
            ) from None
        finally:
            peer.pending.pop(request_id, None)

    def enforce_allowlist(self) -> list[bytes]:
        """Disconnect peers the allowlist no longer admits (call on a new head)."""
        dropped = []
        for peer in list(self._peers.values()):
            if not self._is_allowed(peer.node_id):
                logger.warning("disconnecting %s: node id is no longer on the allowlist",
                               peer.label)
                self._close(peer, "no longer allowed")
                dropped.append(peer.node_id)
        return dropped

    # -- connecting ----------------------------------------------------------------

    async def _on_inbound(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None  # an asyncio.start_server callback always runs in a task
        self._handshakes.add(task)
        try:
            address = format_address(writer.get_extra_info("peername"))
            # Connections still in their handshake count too, or a flood of them would not.
            inbound = sum(peer.inbound for peer in self._peers.values()) + len(self._handshakes) - 1
            if not self._running or inbound >= self._config.max_inbound:
                logger.warning("refused connection from %s: %d inbound peers already (max_inbound)",
                               address, inbound)
                writer.close()
                return
            try:
                async with asyncio.timeout(self._config.handshake_timeout):
                    assert self._server_context is not None
                    await writer.start_tls(self._server_context)
            except asyncio.CancelledError:
                writer.close()
                raise
            except ssl.SSLError as exc:
                logger.warning(
                    "refused connection from %s: TLS handshake failed (%s); a peer needs a "
                    "certificate from the consortium CA", address, describe_error(exc),
                )
                writer.close()
                return
            except (OSError, TimeoutError) as exc:
                logger.warning(
                    "connection from %s closed during the TLS handshake (%s): the peer may "
                    "not trust our CA", address, describe_error(exc),
                )
                writer.close()
                return
            await self._admit(reader, writer, address, inbound=True)
        finally:
            self._handshakes.discard(task)

    async def _dial_forever(self, address: str) -> None:
        attempt = 0
        while self._running:
            known = self._address_ids.get(address)
            existing = self._peers.get(known) if known is not None else None
            if existing is not None:
                # Already connected (maybe it dialed us): redial only once that ends.
                await existing.closed.wait()
                attempt = 0
                continue
            peer = await self._dial(address)
            if peer is not None:
                attempt = 0
                await peer.closed.wait()
            else:
                attempt += 1
            if not self._running:
                return
            delay = calculate_backoff(
                attempt, self._config.backoff_initial, self._config.backoff_max,
                self._random.random(),
            )
            await asyncio.sleep(delay)

    async def _dial(self, address: str) -> Peer | None:
        host, port = parse_address(address)
        assert self._client_context is not None
        try:
            async with asyncio.timeout(self._config.handshake_timeout):
                reader, writer = await asyncio.open_connection(
                    host, port, ssl=self._client_context, server_hostname=""
                )
        except (ssl.SSLError, OSError, TimeoutError) as exc:
            if isinstance(exc, ssl.SSLError):
                logger.warning(
                    "refused peer %s: TLS handshake failed (%s); its certificate must come "
                    "from the consortium CA", address, describe_error(exc),
                )
            else:
                logger.info("cannot reach peer %s: %s", address, describe_error(exc))
            return None
        return await self._admit(reader, writer, address, inbound=False)

    async def _admit(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        address: str,
        *,
        inbound: bool,
    ) -> Peer | None:
        """After TLS: certificate node id, allowlist, CHALLENGE/HELLO, then register."""
        node_id: bytes | None = None
        try:
            ssl_object = writer.get_extra_info("ssl_object")
            certificate = ssl_object.getpeercert(binary_form=True) if ssl_object else None
            if not certificate:
                raise PeerError("bad_certificate", "peer presented no certificate")
            try:
                node_id = node_id_from_certificate(certificate)
            except InvalidCertificate as exc:
                raise PeerError("bad_certificate", str(exc)) from exc
            if not inbound:
                self._address_ids[address] = node_id
            if node_id == self.node_id:
                raise PeerError("self_connection", "the peer is this node itself")
            if not self._is_allowed(node_id):
                raise PeerError(
                    "not_allowed", f"node 0x{node_id.hex()} is not on the node allowlist"
                )
            frames = FrameStream(reader, self._config.frame_limits, self._config.read_size)
            async with asyncio.timeout(self._config.handshake_timeout):
                hello = await self._exchange_hellos(writer, frames, node_id)
        except PeerError as exc:
            who = f"node 0x{node_id.hex()} at {address}" if node_id else address
            logger.warning("refused peer %s: %s (%s)", who, exc.message, exc.reason)
            writer.close()
            return None
        except ssl.SSLError as exc:
            # With TLS 1.3 a client learns that the server refused its certificate
            # only on its first read, here.
            logger.warning("handshake with %s failed: TLS error %s (does the peer trust our "
                           "CA, and is our certificate valid?)", address, describe_error(exc))
            writer.close()
            return None
        except (OSError, TimeoutError, EOFError) as exc:
            logger.warning("handshake with %s failed: %s", address,
                           "timed out" if isinstance(exc, TimeoutError) else describe_error(exc))
            writer.close()
            return None
        except BaseException:
            writer.close()
            raise
        loop = asyncio.get_running_loop()
        peer = Peer(
            node_id=node_id, address=address, inbound=inbound, writer=writer, frames=frames,
            queue=asyncio.Queue(self._config.send_queue_size),
            head_number=hello.head_number, head_hash=hello.head_hash,
            is_validator=hello.is_validator, connected_since=time.time(),
            last_received=loop.time(),
        )
        if not self._register(peer):
            writer.close()
            return None
        peer.tasks = [
            asyncio.create_task(self._read_loop(peer), name=f"p2p-read-{address}"),
            asyncio.create_task(self._write_loop(peer), name=f"p2p-write-{address}"),
            asyncio.create_task(self._keepalive(peer), name=f"p2p-ping-{address}"),
        ]
        logger.info("connected to %s (%s, validator=%s, head %d)", peer.label,
                    "inbound" if inbound else "outbound", peer.is_validator, peer.head_number)
        self._call(peer, "on_status", peer.node_id, peer.head_number, peer.head_hash)
        return peer

    async def _exchange_hellos(
        self, writer: asyncio.StreamWriter, frames: FrameStream, node_id: bytes
    ) -> Hello:
        challenge = secrets.token_bytes(CHALLENGE_SIZE)
        writer.write(self._frame(Challenge(challenge)))
        await writer.drain()
        peer_challenge = await frames.next_message(Challenge, "CHALLENGE")
        assert isinstance(peer_challenge, Challenge)
        # A plain 5-tuple from the node is accepted too.
        status = LocalStatus(*self._handlers.local_status())
        writer.write(self._frame(build_hello(self._key, peer_challenge.nonce, status)))
        await writer.drain()
        hello = await frames.next_message(Hello, "HELLO")
        assert isinstance(hello, Hello)
        validate_hello(hello, challenge, node_id, status)
        return hello

    def _register(self, peer: Peer) -> bool:
        """Keep one connection per node id; False if ``peer`` is the one to drop."""
        existing = self._peers.get(peer.node_id)
        if existing is not None:
            if self._prefer(peer, existing):
                logger.info("replacing connection to %s with a newer one", existing.label)
                self._close(existing, "duplicate connection")
            else:
                logger.info("dropping duplicate connection to %s", peer.label)
                return False
        self._peers[peer.node_id] = peer
        return True

    def _prefer(self, new: Peer, old: Peer) -> bool:
        return keeps_new_connection(self.node_id, new.node_id, new.inbound, old.inbound)

    # -- running a connection --------------------------------------------------------

    async def _read_loop(self, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        reason = "peer closed the connection"
        try:
            while True:
                frame = await peer.frames.next()
                if frame is None:
                    break
                peer.last_received = loop.time()
                message = decode_message(frame.message_type, frame.payload)
                self._dispatch(peer, frame, message)
        except FrameTooLarge as exc:
            logger.warning("closing connection to %s: %s (frame_too_large)", peer.label, exc)
            reason = "frame too large"
        except PeerError as exc:
            logger.warning("closing connection to %s: %s (%s)", peer.label, exc.message,
                           exc.reason)
            reason = exc.reason
        except (ssl.SSLError, OSError, EOFError) as exc:
            reason = f"connection lost: {describe_error(exc)}"
        except Exception:
            logger.exception("bug while handling a message from %s", peer.label)
            reason = "internal error"
        self._close(peer, reason)

    async def _write_loop(self, peer: Peer) -> None:
        try:
            while True:
                data = await peer.queue.get()
                peer.writer.write(data)
                await peer.writer.drain()
        except (ssl.SSLError, OSError) as exc:
            self._close(peer, f"write failed: {describe_error(exc)}")

    async def _keepalive(self, peer: Peer) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(self._config.ping_interval)
            silent = loop.time() - peer.last_received
            if silent > self._config.idle_timeout:
                logger.warning("closing connection to %s: nothing received for %.0f s",
                               peer.label, silent)
                self._close(peer, "idle")
                return
            self._enqueue(peer, self._frame(Ping(next(self._ping_nonces))))

    def _dispatch(self, peer: Peer, frame: Frame, message: Message) -> None:
        match message:
            case Consensus() | NewBlock() | Transaction():
                self._on_gossip(peer, frame, message)
            case Status(number, head_hash):
                peer.head_number, peer.head_hash = number, head_hash
                self._call(peer, "on_status", peer.node_id, number, head_hash)
            case GetBlocks(request_id, from_number, max_count):
                self._serve_blocks(peer, request_id, from_number, max_count)
            case Blocks(request_id, blocks):
                self._on_blocks(peer, request_id, list(blocks))
            case Ping(nonce):
                self._enqueue(peer, self._frame(Pong(nonce)))
            case Pong():
                pass
            case Challenge() | Hello():
                raise PeerError("unexpected_message",
                                f"{message.message_type.name} after the handshake")

    def _on_gossip(self, peer: Peer, frame: Frame, message: Message) -> None:
        if not self._seen.add(gossip_id(frame.message_type, frame.payload)):
            return
        verdict: object = None
        match message:
            case Consensus(raw):
                verdict = self._call(peer, "on_consensus", peer.node_id, raw)
            case NewBlock(header_rlp, body):
                verdict = self._call(peer, "on_new_block", peer.node_id, header_rlp, body)
            case Transaction(raw):
                verdict = self._call(peer, "on_transaction", peer.node_id, raw)
        if verdict is False:
            return  # the node refused it (invalid transaction or block): do not spread it
        # Consensus messages matter to validators only, which peer with each other.
        validators_only = frame.message_type == MessageType.CONSENSUS
        data = encode_frame(frame.message_type, frame.payload, self._config.frame_limits)
        for other in list(self._peers.values()):
            if other is peer or (validators_only and not other.is_validator):
                continue
            self._enqueue(other, data)

    def _serve_blocks(self, peer: Peer, request_id: int, from_number: int, count: int) -> None:
        try:
            blocks = list(self._handlers.serve_blocks(from_number, count))[:count]
        except Exception:
            logger.exception("serve_blocks(%d, %d) failed for %s", from_number, count, peer.label)
            blocks = []
        # Answer with the longest prefix that fits in one BLOCKS frame.
        limit = self._config.frame_limits.limit_for(MessageType.BLOCKS)
        while True:
            _, payload = encode_message(Blocks(request_id, tuple(blocks)))
            if len(payload) <= limit or not blocks:
                break
            blocks = blocks[: len(blocks) // 2]
        self._enqueue(peer, encode_frame(MessageType.BLOCKS, payload, self._config.frame_limits))

    def _on_blocks(self, peer: Peer, request_id: int, blocks: list[BlockData]) -> None:
        entry = peer.pending.get(request_id)
        if entry is None:
            logger.debug("ignoring BLOCKS %d from %s: no such request (timed out?)",
                         request_id, peer.label)
            return
        future, count = entry
        if len(blocks) > count:
            raise PeerError("protocol_violation",
                            f"asked for {count} blocks, got {len(blocks)}")
        if not future.done():
            future.set_result(blocks)

    # -- plumbing ------------------------------------------------------------------

    def _is_allowed(self, node_id: bytes) -> bool:
        """The node's allowlist decision; an allowlist that cannot be read admits no one."""
        try:
            return bool(self._handlers.is_node_allowed(node_id))
        except Exception:
            logger.exception("is_node_allowed failed for node 0x%s: refusing it", node_id.hex())
            return False

    def _frame(self, message: Message) -> bytes:
        message_type, payload = encode_message(message)
        try:
            return encode_frame(message_type, payload, self._config.frame_limits)
        except FrameTooLarge as exc:
            raise ValueError(f"message too large to send: {exc}") from None

    def _enqueue(self, peer: Peer, data: bytes) -> None:
        if peer.closed.is_set():
            return
        try:
            peer.queue.put_nowait(data)
        except asyncio.QueueFull:
            logger.warning("dropping %s: its send queue is full (%d frames); the peer reads "
                           "too slowly", peer.label, peer.queue.maxsize)
            self._close(peer, "send queue overflow")

    def _call(self, peer: Peer, name: str, *args: object) -> object:
        """Call a handler; a failing handler is our bug, not the peer's: log, go on."""
        try:
            return getattr(self._handlers, name)(*args)
        except Exception:
            logger.exception("handler %s failed on a message from %s", name, peer.label)
            return None

    def _close(self, peer: Peer, reason: str) -> None:
        if peer.closed.is_set():
            return
        peer.closed.set()
        if self._peers.get(peer.node_id) is peer:
            del self._peers[peer.node_id]
            logger.info("disconnected from %s: %s", peer.label, reason)
        current = asyncio.current_task()
        for task in peer.tasks:
            if task is not current:
                task.cancel()
        for future, _ in peer.pending.values():
            if not future.done():
                future.set_exception(PeerDisconnected(f"{peer.label} disconnected: {reason}"))
        peer.writer.close()


__all__ = [
    "BlockData",
    "Handlers",
    "LocalStatus",
    "P2PConfig",
    "P2PHost",
    "PeerInfo",
    "TlsFiles",
    "build_ssl_context",
    "parse_address",
]
