"""The aiohttp shell: JSON-RPC over HTTP POST and over WebSocket, both at "/".

The node runs the same application on its HTTP port and its WS port. Everything
JSON-RPC is decided in ``protocol`` and ``methods``; this module moves bytes,
enforces sizes, owns the clock and fans new blocks out to filters and subscriptions.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from aiohttp import WSCloseCode, WSMsgType, web

from chain.rpc.filters import FilterManager, Subscriptions
from chain.rpc.limits import RpcLimits
from chain.rpc.methods import MethodRegistry, RpcContext, build_eth_methods
from chain.rpc.ports import NodeAPI
from chain.rpc.protocol import InvalidRequest, encode_json, error_response, handle_message
from chain.types import BlockView, LogView

__all__ = ["RpcLimits", "create_rpc_app"]

log = logging.getLogger(__name__)

JSON_CONTENT_TYPES = frozenset({"application/json", "application/json-rpc", "application/jsonrequest"})


def create_rpc_app(
    node: NodeAPI,
    limits: RpcLimits,
    *,
    methods: MethodRegistry | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> web.Application:
    """The JSON-RPC application; ``methods`` defaults to ``build_eth_methods()``."""
    server = _RpcServer(node, limits, methods or build_eth_methods(), clock)
    app = web.Application(client_max_size=limits.max_request_bytes)
    app.router.add_post("/", server.handle_http)
    app.router.add_get("/", server.handle_websocket)
    app.on_startup.append(server.start)
    app.on_shutdown.append(server.close_connections)
    app.on_cleanup.append(server.stop)
    return app


class _Connection:
    """One WebSocket: its subscriptions and an ordered queue of outgoing messages."""

    def __init__(self, ws: web.WebSocketResponse, limits: RpcLimits) -> None:
        self.ws = ws
        self.subscriptions = Subscriptions(max_subscriptions=limits.max_subscriptions_per_connection)
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=limits.max_ws_pending_messages)
        self._closing: asyncio.Task[Any] | None = None

    def send(self, text: str) -> None:
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            # A reader this slow would make the node buffer without bound; geth drops it too.
            if self._closing is None:
                log.warning("closing a WebSocket whose client does not read its messages")
                self._closing = asyncio.get_running_loop().create_task(
                    self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=b"client too slow")
                )

    async def write_forever(self) -> None:
        while True:
            text = await self._outbox.get()
            await self.ws.send_str(text)


class _RpcServer:
    def __init__(
        self, node: NodeAPI, limits: RpcLimits, methods: MethodRegistry, clock: Callable[[], float]
    ) -> None:
        self._node = node
        self._limits = limits
        self._methods = methods
        self._clock = clock
        self._filters = FilterManager(
            timeout=limits.filter_timeout_seconds,
            max_filters=limits.max_filters,
            max_backlog=limits.max_filter_backlog,
        )
        self._connections: set[_Connection] = set()

    async def start(self, app: web.Application) -> None:
        self._node.add_block_listener(self._on_block)

    async def close_connections(self, app: web.Application) -> None:
        for connection in list(self._connections):
            await connection.ws.close(code=WSCloseCode.GOING_AWAY, message=b"node shutting down")

    async def stop(self, app: web.Application) -> None:
        self._node.remove_block_listener(self._on_block)

    def _answer(self, body: bytes | str, subscriptions: Subscriptions | None) -> str | None:
        context = RpcContext(self._node, self._limits, self._filters, self._clock(), subscriptions)
        return handle_message(
            body,
            lambda method, params: self._methods.call(method, params, context),
            self._limits.max_batch_length,
        )

    def _on_block(self, block: BlockView, logs: Sequence[LogView]) -> None:
        try:
            self._filters.remove_expired(self._clock())
            self._filters.on_block(block, logs)
            for connection in list(self._connections):
                for message in connection.subscriptions.notifications(block, logs):
                    connection.send(encode_json(message))
        except Exception:  # a listener must never break the node's block commit
            log.exception("failed to deliver block %d to RPC filters and subscriptions", block.number)

    async def handle_http(self, request: web.Request) -> web.StreamResponse:
        if request.content_type not in JSON_CONTENT_TYPES:
            return _json_error(415, f"content type {request.content_type!r} is not supported; "
                                    "send application/json")
        limit = self._limits.max_request_bytes
        declared = request.content_length
        if declared is not None and declared > limit:
            return _too_large(f"{declared} bytes", limit)
        body = bytearray()
        async for chunk in request.content.iter_chunked(64 * 1024):
            body.extend(chunk)
            if len(body) > limit:
                return _too_large(f"more than {limit} bytes", limit)
        answer = self._answer(bytes(body), None)
        if answer is None:
            return web.Response(status=204)
        return web.Response(text=answer, content_type="application/json")

    async def handle_websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=self._limits.max_ws_message_bytes)
        if not ws.can_prepare(request).ok:
            return _json_error(405, "send JSON-RPC requests with POST, or upgrade to WebSocket")
        await ws.prepare(request)
        connection = _Connection(ws, self._limits)
        self._connections.add(connection)
        writer = asyncio.create_task(connection.write_forever())
        try:
            async for message in ws:
                if message.type in (WSMsgType.TEXT, WSMsgType.BINARY):
                    answer = self._answer(message.data, connection.subscriptions)
                    if answer is not None:
                        connection.send(answer)
                elif message.type == WSMsgType.ERROR:
                    log.info("WebSocket closed after an error: %s", ws.exception())
        finally:
            # Subscriptions die with the connection.
            self._connections.discard(connection)
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionError):
                await writer
        return ws


def _too_large(size: str, limit: int) -> web.Response:
    return _json_error(413, f"request body of {size} exceeds the limit of {limit} bytes")


def _json_error(status: int, message: str) -> web.Response:
    return web.Response(
        status=status,
        text=error_response(None, InvalidRequest(message)),
        content_type="application/json",
    )
