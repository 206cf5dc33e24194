"""kill -9 the anchoring worker and the node while checkpoints are anchored: no gap, no duplicate."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from web3 import Web3
from web3.middleware import ExtraDataToPOAMiddleware

from anchoring.anchored_log import AnchoredLog, SqlOutbox, chain_log_id
from anchoring.migrations import upgrade
from anchoring.note import Ed25519Signer
from anchoring.store_sql import make_engine
from chain.devnet import ANCHOR_REGISTRY_ADDRESS, DEV_ACCOUNTS
from chain.keys import write_dev_key
from contracts.artifacts import load_artifact
from tests.e2e.node_process import dev_node

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
ORIGIN = "citychain.test/audit-log"


def _start_worker(tmp_path: Path, db_url: str, rpc: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "chain.cli", "anchor", "worker", "--database", db_url, "--rpc", rpc,
         "--key", str(tmp_path / "department-key.json")],
        stdout=open(tmp_path / "worker.log", "ab"), stderr=subprocess.STDOUT,  # noqa: SIM115
    )


def test_anchored_sequence_has_no_gap_and_no_duplicate(tmp_path: Path) -> None:
    node = dev_node(tmp_path / "node")
    node.start()
    department = next(a for a in DEV_ACCOUNTS if a.label == "department")
    write_dev_key(tmp_path / "department-key.json", department.private_key)
    db_url = f"sqlite:///{tmp_path / 'logs.db'}"
    engine = make_engine(db_url)
    upgrade(engine)
    log = AnchoredLog(engine, ORIGIN, Ed25519Signer.generate("citychain.test/audit-log-key"))
    worker = _start_worker(tmp_path, db_url, node.http_url)
    checkpoints: list[tuple[int, bytes]] = []
    try:
        for batch in range(36):
            appended = log.append([f"record {batch}.{i}".encode() for i in range(7)])
            checkpoints.append((appended.checkpoint.size, appended.checkpoint.root))
            time.sleep(0.15)
            if batch == 8:  # the worker dies mid-stream, then comes back
                worker.send_signal(signal.SIGKILL)
                worker.wait(10)
            if batch == 12:
                worker = _start_worker(tmp_path, db_url, node.http_url)
            if batch == 20:  # the node dies while the worker is anchoring
                node.kill9()
            if batch == 26:
                node.start()
        outbox = SqlOutbox(engine)
        deadline = time.monotonic() + 180
        while outbox.pending(1) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert not outbox.pending(1), (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(20)
    w3 = Web3(Web3.HTTPProvider(node.http_url))
    w3.middleware_onion.inject(ExtraDataToPOAMiddleware, layer=0)
    registry = w3.eth.contract(address=Web3.to_checksum_address(ANCHOR_REGISTRY_ADDRESS),
                               abi=load_artifact("AnchorRegistry").abi)
    log_id = chain_log_id(ORIGIN)
    count = registry.functions.anchorCount(log_id).call()
    on_chain = [registry.functions.anchorAt(log_id, i).call() for i in range(count)]
    # An auditor checks one record against the chain with the CLI; a tampered one fails.
    bundle = log.proof_bundle(100)
    (tmp_path / "record.json").write_text(json.dumps(bundle))
    bundle["leafHash"] = base64.b64encode(b"\x00" * 32).decode()
    (tmp_path / "tampered.json").write_text(json.dumps(bundle))
    command = [sys.executable, "-m", "chain.cli", "log", "verify-record", "--log-key",
               log.signer.verifier().vkey(), "--rpc", node.http_url]
    good = subprocess.run([*command, str(tmp_path / "record.json")], capture_output=True, text=True, timeout=60)
    bad = subprocess.run([*command, str(tmp_path / "tampered.json")], capture_output=True, text=True, timeout=60)
    node.stop()
    assert good.returncode == 0 and json.loads(good.stdout)["valid"] is True, good.stdout + good.stderr
    assert bad.returncode == 1 and json.loads(bad.stdout)["reason"] == "bad_proof"
    # Every checkpoint the log signed is on chain exactly once, in order, with its root.
    assert [(a[0], bytes(a[1])) for a in on_chain] == checkpoints
    outcomes = SqlOutbox(engine).counts()
    assert set(outcomes) <= {"anchored", "already_anchored"}, outcomes
    worker_log = (tmp_path / "worker.log").read_text()
    assert "chain unavailable" in worker_log  # it really did ride out the node's death
