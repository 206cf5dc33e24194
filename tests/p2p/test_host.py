"""P2PHost over real sockets on 127.0.0.1 with real TLS and certificates made in tmp dirs."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from dataclasses import replace
from pathlib import Path

import pytest

from chain.p2p.errors import PeerNotConnected, RequestTimeout
from chain.p2p.framing import FrameDecoder
from chain.p2p.handshake import LocalStatus
from chain.p2p.host import P2PHost
from chain.p2p.messages import DEFAULT_FRAME_LIMITS, Consensus, NewBlock, Status, Transaction
from tests.p2p.helpers import (
    CHAIN_ID,
    GENESIS,
    HEAD,
    Ca,
    FakeNode,
    address,
    node_id,
    node_key,
    raw_connect,
    settle,
    start_host,
    wait_until,
)

pytestmark = pytest.mark.timeout(20)
P2P_LOGGER = "citychain.p2p"


async def read_until_closed(reader: asyncio.StreamReader) -> bytes:
    """What the host still sends before it closes: only its own CHALLENGE and HELLO."""
    data = b""
    with contextlib.suppress(ConnectionError, ssl.SSLError):
        while chunk := await reader.read(65536):
            data += chunk
    frames = FrameDecoder(DEFAULT_FRAME_LIMITS).feed(data)
    return bytes(f.message_type for f in frames if f.message_type not in (1, 2))


async def stop_all(*hosts: P2PHost) -> None:
    for host in hosts:
        await host.stop()


def test_three_hosts_exchange_gossip_exactly_once(tmp_path: Path) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, node_a = await start_host(ca, 1)
        b, node_b = await start_host(ca, 2, static_peers=[address(a)])
        c, node_c = await start_host(ca, 3, static_peers=[address(a), address(b)])
        try:
            await wait_until(lambda: a.peer_count == b.peer_count == c.peer_count == 2)
            for index, host in enumerate((a, b, c), start=1):
                assert host.broadcast(Consensus(b"qbft-%d" % index), only_validators=True) == 2
                host.broadcast(NewBlock(b"header-%d" % index, b"body-%d" % index))
                host.broadcast(Transaction(b"tx-%d" % index))
            nodes = {1: node_a, 2: node_b, 3: node_c}
            await wait_until(lambda: all(len(n.transactions) == 2 for n in nodes.values()))
            await settle()  # let any duplicate arrive, and be suppressed
            for index, node in nodes.items():
                others = sorted(i for i in nodes if i != index)
                assert sorted(raw for _, raw in node.consensus) == [b"qbft-%d" % i for i in others]
                assert sorted(h for _, h, _ in node.blocks) == [b"header-%d" % i for i in others]
                assert sorted(raw for _, raw in node.transactions) == [b"tx-%d" % i for i in others]
            # Each message is attributed to its first sender; all came from someone connected.
            assert {sender for sender, _ in node_a.transactions} <= {node_id(node_key(2)),
                                                                    node_id(node_key(3))}
            info = {p.node_id: p for p in a.peers()}
            assert set(info) == {node_id(node_key(2)), node_id(node_key(3))}
            assert all(p.is_validator and p.head_hash == HEAD for p in info.values())
        finally:
            await stop_all(c, b, a)

    asyncio.run(scenario())


def test_gossip_is_relayed_through_a_middle_node(tmp_path: Path) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        middle, node_m = await start_host(ca, 1)
        left, node_l = await start_host(ca, 2, static_peers=[address(middle)])
        right, node_r = await start_host(ca, 3, static_peers=[address(middle)])
        try:
            await wait_until(lambda: middle.peer_count == 2)
            left.broadcast(Transaction(b"tx-from-left"))
            await wait_until(lambda: len(node_r.transactions) == 1)
            await settle()
            assert node_r.transactions == [(node_id(node_key(1)), b"tx-from-left")]
            assert node_m.transactions == [(node_id(node_key(2)), b"tx-from-left")]
            assert node_l.transactions == []  # its own message does not come back
        finally:
            await stop_all(left, right, middle)

    asyncio.run(scenario())


def test_a_message_the_node_refuses_is_not_relayed(tmp_path: Path) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        middle, node_m = await start_host(ca, 1)
        node_m.refuse_transactions = True  # e.g. an invalid or unpermitted transaction
        left, _ = await start_host(ca, 2, static_peers=[address(middle)])
        right, node_r = await start_host(ca, 3, static_peers=[address(middle)])
        try:
            await wait_until(lambda: middle.peer_count == 2)
            left.broadcast(Transaction(b"invalid-tx"))
            await wait_until(lambda: len(node_m.transactions) == 1)
            await settle()
            assert node_r.transactions == []
        finally:
            await stop_all(left, right, middle)

    asyncio.run(scenario())


def test_status_updates_the_peer_head(tmp_path: Path) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, node_a = await start_host(ca, 1)
        b, _ = await start_host(ca, 2, static_peers=[address(a)])
        try:
            await wait_until(lambda: a.peer_count == 1)
            b.broadcast(Status(7, b"\x07" * 32))
            await wait_until(lambda: a.peers()[0].head_number == 7)
            assert node_a.statuses[-1] == (node_id(node_key(2)), 7, b"\x07" * 32)
        finally:
            await stop_all(b, a)

    asyncio.run(scenario())


@pytest.mark.parametrize("rogue_trusts_our_ca", [True, False])
def test_certificate_from_another_ca_cannot_connect(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, rogue_trusts_our_ca: bool
) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path / "ours")
        rogue_ca = Ca.create(tmp_path / "rogue", "rogue CA")
        files = rogue_ca.node_files("node2", node_id(node_key(2)))
        if rogue_trusts_our_ca:  # so it is our host that refuses the rogue's certificate
            files = replace(files, ca_certificate=ca.folder / "ca.pem")
        a, _ = await start_host(ca, 1)
        rogue, _ = await start_host(rogue_ca, 2, static_peers=[address(a)], files=files)
        try:
            await wait_until(lambda: "CERTIFICATE_VERIFY_FAILED" in caplog.text)
            await settle(0.3)
            assert a.peer_count == 0 and rogue.peer_count == 0
        finally:
            await stop_all(rogue, a)

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())
    refusals = [r.getMessage() for r in caplog.records if "TLS handshake failed" in r.getMessage()]
    expected = (
        "refused connection from 127.0.0.1:" if rogue_trusts_our_ca else "refused peer 127.0.0.1:"
    )
    assert any(
        line.startswith(expected) and "CERTIFICATE_VERIFY_FAILED" in line for line in refusals
    ), refusals


def test_node_not_on_the_allowlist_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    outsider = node_id(node_key(2))

    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(ca, 1, FakeNode(allowed=lambda n: n != outsider))
        b, _ = await start_host(ca, 2, static_peers=[address(a)])
        try:
            await wait_until(lambda: "not on the node allowlist" in caplog.text)
            await settle(0.2)
            assert a.peer_count == 0 and b.peer_count == 0
        finally:
            await stop_all(b, a)

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())
    assert f"0x{outsider.hex()} is not on the node allowlist (not_allowed)" in caplog.text


def test_node_removed_from_the_allowlist_is_disconnected(tmp_path: Path) -> None:
    allowed = {node_id(node_key(2))}

    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(ca, 1, FakeNode(allowed=lambda n: n in allowed))
        b, _ = await start_host(ca, 2, static_peers=[address(a)])
        try:
            await wait_until(lambda: a.peer_count == 1)
            allowed.clear()
            assert a.enforce_allowlist() == [node_id(node_key(2))]
            await wait_until(lambda: a.peer_count == 0 and b.peer_count == 0)
        finally:
            await stop_all(b, a)

    asyncio.run(scenario())


def test_hello_signed_with_another_node_key_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(ca, 1)
        # A valid certificate for node 2, but the HELLO is signed with node 9's key.
        files = ca.node_files("impostor", node_id(node_key(2)))
        status = LocalStatus(CHAIN_ID, GENESIS, 0, HEAD, True)
        reader, writer = await raw_connect(a.listen_port, files, node_key(9), status)
        try:
            await wait_until(lambda: "node_id_mismatch" in caplog.text)
            assert await read_until_closed(reader) == b""
            assert a.peer_count == 0
        finally:
            writer.close()
            await a.stop()

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())
    assert f"signed by node 0x{node_id(node_key(9)).hex()}" in caplog.text


@pytest.mark.parametrize(
    ("remote", "reason"),
    [
        (FakeNode(chain_id=CHAIN_ID + 1), "wrong_chain_id"),
        (FakeNode(genesis_hash=b"\x99" * 32), "wrong_genesis"),
    ],
)
def test_peer_on_another_chain_is_refused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, remote: FakeNode, reason: str
) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(ca, 1)
        b, _ = await start_host(ca, 2, remote, static_peers=[address(a)])
        try:
            await wait_until(lambda: caplog.text.count(reason) >= 2)  # both sides refuse
            assert a.peer_count == 0 and b.peer_count == 0
        finally:
            await stop_all(b, a)

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())


def test_oversized_frame_closes_only_that_connection(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, node_a = await start_host(ca, 1)
        b, _ = await start_host(ca, 2, static_peers=[address(a)])
        await wait_until(lambda: a.peer_count == 1)
        files = ca.node_files("node3", node_id(node_key(3)))
        status = LocalStatus(CHAIN_ID, GENESIS, 0, HEAD, True)
        reader, writer = await raw_connect(a.listen_port, files, node_key(3), status)
        try:
            await wait_until(lambda: a.peer_count == 2)
            # A TX frame announcing 128 KiB + 1: refused from its header alone.
            writer.write((128 * 1024 + 1).to_bytes(4, "big") + bytes([Transaction.message_type]))
            await writer.drain()
            await wait_until(lambda: "frame_too_large" in caplog.text)
            await wait_until(lambda: a.peer_count == 1)
            assert [p.node_id for p in a.peers()] == [node_id(node_key(2))]
            b.broadcast(Transaction(b"still-working"))
            await wait_until(lambda: len(node_a.transactions) == 1)
        finally:
            writer.close()
            await stop_all(b, a)

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())


def test_get_blocks_round_trip_and_timeout(tmp_path: Path) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        server_node = FakeNode(height=300)
        a, _ = await start_host(ca, 1, server_node)
        b, _ = await start_host(ca, 2, static_peers=[address(a)])
        try:
            await wait_until(lambda: b.peer_count == 1)
            peer = node_id(node_key(1))
            blocks = await b.request_blocks(peer, 10, 128, timeout=2.0)
            assert blocks[0] == (b"header-10", b"body-10")
            assert blocks[-1] == (b"header-137", b"body-137") and len(blocks) == 128
            assert await b.request_blocks(peer, 299, 5, timeout=2.0) == [
                (b"header-299", b"body-299"), (b"header-300", b"body-300"),
            ]
            assert await b.request_blocks(peer, 301, 5, timeout=2.0) == []

            server_node.serve_delay = 0.3
            with pytest.raises(RequestTimeout):
                await b.request_blocks(peer, 1, 1, timeout=0.1)
            server_node.serve_delay = 0.0
            await settle(0.4)  # the late answer arrives and is ignored
            assert b.peer_count == 1
            assert len(await b.request_blocks(peer, 1, 3, timeout=2.0)) == 3

            with pytest.raises(PeerNotConnected):
                await b.request_blocks(b"\x00" * 32, 1, 1, timeout=1.0)
            with pytest.raises(ValueError):
                await b.request_blocks(peer, 1, 129, timeout=1.0)
        finally:
            await stop_all(b, a)

    asyncio.run(scenario())


def test_restarted_peer_is_reconnected_within_the_backoff_bound(tmp_path: Path) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(ca, 1)
        port = a.listen_port
        b, _ = await start_host(ca, 2, static_peers=[address(a)], backoff_max=0.4)
        await wait_until(lambda: b.peer_count == 1)
        await a.stop()
        await wait_until(lambda: b.peer_count == 0)
        await asyncio.sleep(1.0)  # several failed redials: backoff reaches its cap
        loop = asyncio.get_running_loop()
        restarted, _ = await start_host(ca, 1, port=port)
        started = loop.time()
        try:
            await wait_until(lambda: b.peer_count == 1 and restarted.peer_count == 1)
            assert loop.time() - started < 0.4 + 0.5  # cap, plus handshake slack
        finally:
            await stop_all(b, restarted)

    asyncio.run(scenario())


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


@pytest.mark.parametrize("attempt", range(3))
def test_simultaneous_dials_keep_one_connection(tmp_path: Path, attempt: int) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        port_a, port_b = free_ports(2)
        (a, _), (b, node_b) = await asyncio.gather(
            start_host(ca, 1, static_peers=[f"127.0.0.1:{port_b}"], port=port_a),
            start_host(ca, 2, static_peers=[f"127.0.0.1:{port_a}"], port=port_b),
        )
        try:
            await wait_until(lambda: a.peer_count == 1 and b.peer_count == 1)
            await settle(0.5)  # no flapping: both keep one and the same connection
            [pa], [pb] = a.peers(), b.peers()
            assert pa.inbound != pb.inbound
            # Both kept the connection dialed by the smaller node id.
            smaller_dialed = node_id(node_key(1)) < node_id(node_key(2))
            assert pa.inbound != smaller_dialed
            a.broadcast(Transaction(b"after-tie-break"))
            await wait_until(lambda: len(node_b.transactions) == 1)
        finally:
            await stop_all(a, b)

    asyncio.run(scenario())


def test_dialing_itself_is_refused(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        [port] = free_ports(1)
        a, _ = await start_host(ca, 1, static_peers=[f"127.0.0.1:{port}"], port=port)
        try:
            await wait_until(lambda: "self_connection" in caplog.text)
            assert a.peer_count == 0
        finally:
            await a.stop()

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())


def test_silent_and_idle_peers_are_closed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(
            ca, 1, handshake_timeout=0.3, ping_interval=0.05, idle_timeout=0.3
        )
        try:
            # TCP only, never a TLS ClientHello.
            _, silent = await asyncio.open_connection("127.0.0.1", a.listen_port)
            await wait_until(lambda: "during the TLS handshake" in caplog.text)
            silent.close()
            # A peer that completes the handshake, then reads nothing and never answers PING.
            files = ca.node_files("node3", node_id(node_key(3)))
            status = LocalStatus(CHAIN_ID, GENESIS, 0, HEAD, True)
            _, idle = await raw_connect(a.listen_port, files, node_key(3), status)
            await wait_until(lambda: a.peer_count == 1)
            await wait_until(lambda: "nothing received" in caplog.text)
            assert a.peer_count == 0
            idle.close()
        finally:
            await a.stop()

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())


def test_sending_past_a_frame_limit_is_a_local_error(tmp_path: Path) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(ca, 1)
        try:
            with pytest.raises(ValueError, match="too large"):
                a.broadcast(Transaction(b"x" * (128 * 1024)))
            with pytest.raises(PeerNotConnected):
                a.send(b"\x01" * 32, Transaction(b"x"))
        finally:
            await a.stop()

    asyncio.run(scenario())


def test_slow_peer_overflowing_its_send_queue_is_dropped(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    async def scenario() -> None:
        ca = Ca.create(tmp_path)
        a, _ = await start_host(ca, 1, send_queue_size=4)
        b, _ = await start_host(ca, 2, static_peers=[address(a)])
        try:
            await wait_until(lambda: a.peer_count == 1)
            for n in range(10):  # queued synchronously: the writer cannot drain in between
                a.broadcast(Transaction(b"tx-%d" % n))
            assert a.peer_count == 0
            assert "send queue is full" in caplog.text
        finally:
            await stop_all(b, a)

    with caplog.at_level(logging.INFO, logger=P2P_LOGGER):
        asyncio.run(scenario())
