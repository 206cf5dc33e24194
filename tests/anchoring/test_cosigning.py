"""Checkpoints carry witnesses' cosignatures onto the chain."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from aiohttp import web

from anchoring.anchored_log import AnchoredLog, SqlOutbox, WitnessCosigning
from anchoring.migrations import upgrade
from anchoring.note import ALG_COSIGNATURE_V1, Ed25519Signer, open_note
from anchoring.store_sql import make_engine, outbox
from anchoring.witness import MemoryWitnessState, Witness
from anchoring.witness_client import WitnessEndpoint
from anchoring.witness_http import create_witness_app
from anchoring.worker import Outcome, PendingAnchor, anchor_pending
from tests.anchoring.test_worker_rules import FakeChain

pytestmark = pytest.mark.timeout(60)
ORIGIN = "citychain.test/credit-log"


class CountingChain(FakeChain):
    def __init__(self) -> None:
        super().__init__()
        self.cosignatures: list[int] = []

    def anchor(self, pending: PendingAnchor) -> tuple[bytes, int]:
        self.cosignatures.append(pending.cosignatures)
        return super().anchor(pending)


@pytest.fixture
def witness(tmp_path: Path):
    log_signer = Ed25519Signer.generate("citychain.test/credit-log-key")
    cosigner = Ed25519Signer.generate("regulator.test/witness", ALG_COSIGNATURE_V1)
    app = create_witness_app(Witness(cosigner, {ORIGIN: [log_signer.verifier()]}, MemoryWitnessState()))
    loop = asyncio.new_event_loop()
    ready, holder = threading.Event(), {}

    async def start() -> None:
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        holder["runner"], holder["port"] = runner, site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        ready.set()

    threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()), daemon=True).start()
    ready.wait(10)
    yield log_signer, WitnessEndpoint(f"http://127.0.0.1:{holder['port']}/add-checkpoint", cosigner.verifier())
    asyncio.run_coroutine_threadsafe(holder["runner"].cleanup(), loop).result(10)  # type: ignore[attr-defined]
    loop.call_soon_threadsafe(loop.stop)


def test_each_anchor_carries_the_witness_cosignature(tmp_path: Path, witness) -> None:
    log_signer, endpoint = witness
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade(engine)
    log = AnchoredLog(engine, ORIGIN, log_signer)
    unreachable = WitnessEndpoint("http://127.0.0.1:9/add-checkpoint", endpoint.verifier)
    cosign = WitnessCosigning(engine, [endpoint, unreachable])
    chain = CountingChain()
    for batch in range(3):  # the witness must follow the log through consistency proofs
        log.append([f"credit record {batch}.{i}".encode() for i in range(5)])
        results = anchor_pending(SqlOutbox(engine), chain, cosign=cosign)
        assert [o for _, o in results] == [Outcome.ANCHORED]
    assert chain.cosignatures == [1, 1, 1]  # the unreachable witness never blocks anchoring
    with engine.connect() as conn:
        notes = [bytes(n) for (n,) in conn.execute(outbox.select().with_only_columns(outbox.c.checkpoint))]
    for note in notes:
        _, verified = open_note(note, [endpoint.verifier, log_signer.verifier()])
        assert len(verified) == 2  # the log's signature and the witness's cosignature
    # A fresh cosigner (it believes the witness is at 0) recovers through the 409 answer.
    log.append([b"one more"])
    results = anchor_pending(SqlOutbox(engine), chain, cosign=WitnessCosigning(engine, [endpoint]))
    assert [o for _, o in results] == [Outcome.ANCHORED] and chain.cosignatures[-1] == 1
