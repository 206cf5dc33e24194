"""Prometheus text exposition of the node's health (no client library needed)."""

from __future__ import annotations

from aiohttp import web

from chain.node.driver import ConsensusDriver
from chain.node.node import Node


def render(node: Node, driver: ConsensusDriver) -> str:
    state = driver.round_state()
    stats = node.pool.stats(node.chain.reader_at(node.chain.head).nonce)
    samples = [
        ("citychain_chain_height", "gauge", "Number of the head block.", node.head_number()),
        ("citychain_consensus_round", "gauge", "Current QBFT round at the current height.", state.round),
        ("citychain_round_changes_total", "counter", "Round changes to a round above 0.", driver.round_changes),
        ("citychain_peers", "gauge", "Connected peers.", node.peer_count),
        ("citychain_is_validator", "gauge", "1 if this node validates the next block.", int(driver.is_validator)),
        ("citychain_txpool_pending", "gauge", "Executable pooled transactions.", stats.pending),
        ("citychain_txpool_queued", "gauge", "Pooled transactions waiting for a nonce gap.", stats.queued),
        ("citychain_block_interval_seconds", "gauge", "Time between the last two finalized blocks.",
         driver.last_block_interval if driver.last_block_interval is not None else float("nan")),
        ("citychain_finality_latency_seconds", "gauge",
         "From the last block's timestamp to its finalization on this node.",
         driver.last_finality_latency if driver.last_finality_latency is not None else float("nan")),
    ]
    lines = []
    for name, kind, help_text, value in samples:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} {kind}")
        lines.append(f"{name} {value}")
    return "\n".join(lines) + "\n"


def create_metrics_app(node: Node, driver: ConsensusDriver) -> web.Application:
    async def metrics(_request: web.Request) -> web.Response:
        return web.Response(text=render(node, driver), content_type="text/plain", charset="utf-8")

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    return app
