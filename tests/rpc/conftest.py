"""The RPC app served on a free loopback port from its own event-loop thread.

Tests talk to it with blocking clients (requests, web3's HTTPProvider, websockets'
sync client); ``RunningServer.on_loop`` runs code, such as committing a block, on
the server's loop, where the real node calls its block listeners.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
import requests
from aiohttp import web

from chain.rpc.limits import RpcLimits
from chain.rpc.server import create_rpc_app
from tests.rpc.fake_node import FakeNode

T = TypeVar("T")

TEST_LIMITS = RpcLimits(max_request_bytes=64 * 1024, max_batch_length=10,
                        max_ws_message_bytes=64 * 1024, max_logs_results=50)


@dataclass
class RunningServer:
    node: FakeNode
    url: str
    ws_url: str
    loop: asyncio.AbstractEventLoop
    client: requests.Session
    _ids: Iterator[int] = itertools.count(1)

    def on_loop(self, function: Callable[[], T]) -> T:
        async def run() -> T:
            return function()

        return asyncio.run_coroutine_threadsafe(run(), self.loop).result(timeout=5)

    def post(self, payload: Any) -> requests.Response:
        return self.client.post(self.url, json=payload, timeout=5)

    def request(self, method: str, *params: Any) -> dict[str, Any]:
        """The full JSON-RPC response to one call."""
        response = self.post({"jsonrpc": "2.0", "id": next(self._ids), "method": method,
                              "params": list(params)})
        assert response.status_code == 200, response.text
        return response.json()

    def result(self, method: str, *params: Any) -> Any:
        answer = self.request(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    def error(self, method: str, *params: Any) -> dict[str, Any]:
        answer = self.request(method, *params)
        assert "result" not in answer, answer
        return answer["error"]


@pytest.fixture
def server() -> Iterator[RunningServer]:
    node = FakeNode(max_logs_block_range=100)
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    async def start() -> tuple[web.AppRunner, int]:
        runner = web.AppRunner(create_rpc_app(node, TEST_LIMITS))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    runner, port = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=5)
    with requests.Session() as client:
        yield RunningServer(node, f"http://127.0.0.1:{port}/", f"ws://127.0.0.1:{port}/",
                            loop, client)
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)
    loop.close()
