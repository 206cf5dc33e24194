"""Request limits enforced before any route runs, in plain ASGI.

- Bodies larger than the limit are refused with 413 whether or not they announce a
  Content-Length (a chunked body is counted as it arrives, never held beyond the limit).
- Paths with a NUL character are refused (no id has one; PostgreSQL text cannot hold one).
- JSON nesting is bounded: the C JSON decoder recurses per level, and a library imported
  by the API (py_ecc, through eth_account) raises Python's recursion limit so high that a
  deeply nested body overflowed the C stack. The API lowers it back (``MAX_RECURSION``),
  so such a body raises RecursionError, answered 400 by the error handlers.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_RECURSION = 4000


def bound_recursion() -> None:
    if sys.getrecursionlimit() > MAX_RECURSION:
        sys.setrecursionlimit(MAX_RECURSION)


async def _respond(send: Send, status: int, code: str, message: str) -> None:
    body = json.dumps({"error": {"code": code, "message": message, "fields": []}}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class RequestLimits:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if "\x00" in scope.get("path", ""):
            await _respond(send, 404, "not_found", "no resource has a NUL character in its path")
            return
        limit = self.max_body_bytes
        too_large = f"request bodies are limited to {limit} bytes"
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            await _respond(send, 413, "too_large", too_large)
            return
        # Read the whole body now, counting it, then hand it to the app unchanged.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                await _respond(send, 413, "too_large", too_large)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> Message:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
