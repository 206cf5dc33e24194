"""The node process: the only place with an event loop, sockets and a clock.

It opens the store, builds the chain and the node, serves JSON-RPC over HTTP and
WebSocket, and feeds the QBFT core with ticks; effects come back through the
driver. SIGINT/SIGTERM stop it cleanly; ``kill -9`` is survived by the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web

from chain.config import NodeConfig
from chain.devnet import node_id_of
from chain.genesis import GenesisSpec, load_genesis
from chain.keys import load_private_key
from chain.node.chain import Chain
from chain.node.driver import ConsensusDriver
from chain.node.governance import Governance
from chain.node.metrics import create_metrics_app
from chain.node.network import NodeNetwork
from chain.node.node import Node
from chain.node.qbft_rpc import build_methods
from chain.p2p.host import P2PConfig, P2PHost
from chain.p2p.messages import Consensus, NewBlock, Transaction
from chain.p2p.transport import TlsFiles
from chain.rpc.server import RpcLimits, create_rpc_app
from chain.storage.lmdb_store import LmdbStore
from chain.txpool.config import PoolConfig

log = logging.getLogger("citychain.runner")

TICK_SECONDS = 0.05


class DataDirInUse(RuntimeError):
    pass


def lock_data_dir(data_dir: Path) -> int:
    """Refuse to open a data directory another live node process holds."""
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "LOCK", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as exc:
        os.close(fd)
        raise DataDirInUse(f"data directory {data_dir} is in use by another citychain node") from exc
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


@dataclass
class RunningNode:
    node: Node
    driver: ConsensusDriver
    http_url: str
    ws_url: str
    runner: web.AppRunner
    network: NodeNetwork | None = None
    host: P2PHost | None = None


def open_node(config: NodeConfig, genesis: GenesisSpec | None = None) -> tuple[Node, bytes]:
    genesis = genesis or load_genesis(config.genesis)
    private_key = load_private_key(config.key_file)
    store = LmdbStore(config.data_dir / "chain")
    chain = Chain(store, genesis)
    pool = PoolConfig(
        max_transactions=config.pool.max_transactions,
        max_per_sender=config.pool.max_per_sender,
        max_nonce_gap=config.pool.max_nonce_gap,
        min_tip=genesis.min_gas_price,
    )
    node = Node(chain, pool, max_logs_block_range=config.rpc.max_logs_block_range)
    return node, private_key


async def start(config: NodeConfig) -> RunningNode:
    node, private_key = open_node(config)
    driver = ConsensusDriver(node, private_key, now=time.time())
    network, host = _network_for(config, node, driver, private_key)
    limits = RpcLimits(
        max_request_bytes=config.rpc.max_request_bytes,
        max_batch_length=config.rpc.max_batch_length,
    )
    governance = Governance(
        node.chain, driver.core.address, synced_peers=network.synced_validators if network else set
    )
    app = create_rpc_app(node, limits, methods=build_methods(governance, driver))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    if config.metrics_port is not None:
        metrics_runner = web.AppRunner(create_metrics_app(node, driver), access_log=None)
        await metrics_runner.setup()
        await web.TCPSite(metrics_runner, config.rpc.http_host, config.metrics_port).start()
    http = web.TCPSite(runner, config.rpc.http_host, config.rpc.http_port)
    await http.start()
    ws = web.TCPSite(runner, config.rpc.ws_host, config.rpc.ws_port)
    await ws.start()
    http_port = _bound_port(http, config.rpc.http_port)
    ws_port = _bound_port(ws, config.rpc.ws_port)
    if host is not None:
        await host.start()
    return RunningNode(
        node=node,
        driver=driver,
        http_url=f"http://{config.rpc.http_host}:{http_port}",
        ws_url=f"ws://{config.rpc.ws_host}:{ws_port}",
        runner=runner,
        network=network,
        host=host,
    )


def _network_for(
    config: NodeConfig, node: Node, driver: ConsensusDriver, private_key: bytes
) -> tuple[NodeNetwork | None, P2PHost | None]:
    if config.p2p is None:
        return None, None
    network = NodeNetwork(node, driver, node_id_of(private_key))
    host = P2PHost(
        P2PConfig(
            listen_host=config.p2p.listen_host,
            listen_port=config.p2p.listen_port,
            static_peers=tuple(f"{h}:{p}" for h, p in config.p2p.peers),
        ),
        private_key,
        TlsFiles(config.p2p.ca_cert, config.p2p.tls_cert, config.p2p.tls_key),
        network,
    )
    network.host = host

    def on_commit(header_rlp: bytes, body: bytes) -> None:
        host.broadcast(NewBlock(header_rlp, body))
        network.announce_head()

    driver.set_network(
        broadcast=lambda raw: host.broadcast(Consensus(raw), only_validators=True),
        on_commit=on_commit,
    )
    node.forward_transaction = lambda raw: host.broadcast(Transaction(raw))
    node.sync_status = network.syncing
    return network, host


def _bound_port(site: web.TCPSite, configured: int) -> int:
    sockets = getattr(site._server, "sockets", None)  # aiohttp keeps the asyncio server here
    if sockets:
        return int(sockets[0].getsockname()[1])
    return configured


async def serve(config: NodeConfig, on_ready: Callable[[RunningNode], None] | None = None) -> None:
    lock_fd = lock_data_dir(config.data_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    running = await start(config)
    log.info("node %s: JSON-RPC %s and %s", config.name, running.http_url, running.ws_url)
    if on_ready is not None:
        on_ready(running)
    sync_task = (
        asyncio.create_task(running.network.run_sync(stop)) if running.network is not None else None
    )
    try:
        while not stop.is_set():
            if running.host is not None:
                running.node.peers = running.host.peer_count
            try:
                running.driver.on_tick(time.time())
            except Exception:  # one bad tick must not stop the node; the log says what
                log.exception("consensus tick failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), TICK_SECONDS)
    finally:
        if sync_task is not None:
            sync_task.cancel()
        if running.host is not None:
            await running.host.stop()
        await running.runner.cleanup()
        running.node.chain.store.close()
        os.close(lock_fd)
        log.info("node %s stopped at block %d", config.name, running.node.head_number())
