"""The witness as an HTTP service (c2sp.org/tlog-witness): POST /add-checkpoint.

A thin aiohttp layer: the body goes to ``Witness.add_checkpoint`` with the time,
and its status, content type and body go back unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from aiohttp import web

from anchoring.witness import Witness

MAX_REQUEST_BYTES = 1 << 20  # a checkpoint plus a consistency proof of any real log


def create_witness_app(witness: Witness, clock: Callable[[], float] = time.time) -> web.Application:
    async def add_checkpoint(request: web.Request) -> web.Response:
        body = await request.read()
        answer = witness.add_checkpoint(body, int(clock()))
        return web.Response(status=answer.status, body=answer.body,
                            headers={"Content-Type": answer.content_type})

    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    app.router.add_post("/add-checkpoint", add_checkpoint)
    return app
