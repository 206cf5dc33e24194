"""POST /add-checkpoint over real HTTP on loopback: 200 with a cosignature, 409, 422."""

from __future__ import annotations

import asyncio
import threading

import httpx
import pytest
from aiohttp import web

from anchoring.merkle import build_consistency_proof
from anchoring.note import open_note
from anchoring.witness_http import create_witness_app
from tests.anchoring.test_witness import COSIGNER, LEAVES, NOW, _note, _request, _witness

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def witness_url():
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, object] = {}

    async def start() -> None:
        runner = web.AppRunner(create_witness_app(_witness(), clock=lambda: NOW))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"] = runner
        holder["port"] = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True)
    thread.start()
    ready.wait(10)
    yield f"http://127.0.0.1:{holder['port']}/add-checkpoint"
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)  # type: ignore[attr-defined]
    loop.call_soon_threadsafe(loop.stop)


def test_witness_protocol_over_http(witness_url: str) -> None:
    first = httpx.post(witness_url, content=_request(0, [], _note(LEAVES[:8])))
    assert first.status_code == 200
    cosigned = _note(LEAVES[:8]).rstrip(b"\n") + b"\n" + first.content
    _, verified = open_note(cosigned, [COSIGNER.verifier()])
    assert verified  # the answer is a valid cosignature line over our checkpoint
    proof = build_consistency_proof(8, LEAVES[:20])
    assert httpx.post(witness_url, content=_request(8, proof, _note(LEAVES[:20]))).status_code == 200
    stale = httpx.post(witness_url, content=_request(8, proof, _note(LEAVES[:20])))
    assert stale.status_code == 409 and stale.text.strip() == "20"
    bad = build_consistency_proof(20, LEAVES[:30])
    bad[0] = bytes(32)
    assert httpx.post(witness_url, content=_request(20, bad, _note(LEAVES[:30]))).status_code == 422
    assert httpx.post(witness_url, content=b"old x\n\n").status_code == 400
