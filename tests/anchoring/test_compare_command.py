"""`citychain log compare`: consistent checkpoints, and a fork shown with its evidence."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

from anchoring.checkpoint import Checkpoint
from anchoring.merkle import build_consistency_proof, leaf_hash, root_from_leaf_hashes
from anchoring.note import Ed25519Signer, sign_note

LOG = Ed25519Signer.generate("citychain.test/compare-log")
LEAVES = [leaf_hash(b"entry %d" % i) for i in range(20)]


def _write(path: Path, size: int, root: bytes | None = None) -> Path:
    body = Checkpoint("citychain.test/compare-log", size, root or root_from_leaf_hashes(LEAVES[:size])).body()
    path.write_bytes(sign_note(body, [LOG]))
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "chain.cli", "log", "compare", *args,
                           "--log-key", LOG.verifier().vkey()], capture_output=True, text=True, timeout=60)


def test_consistent_inconsistent_and_forked(tmp_path: Path) -> None:
    older, newer = _write(tmp_path / "a", 7), _write(tmp_path / "b", 20)
    proof = tmp_path / "proof"
    proof.write_text("\n".join(base64.b64encode(p).decode() for p in build_consistency_proof(7, LEAVES)))
    ok = _run(str(older), str(newer), "--proof", str(proof))
    assert ok.returncode == 0 and json.loads(ok.stdout)["valid"] is True
    proof.write_text(base64.b64encode(bytes(32)).decode())
    bad = _run(str(older), str(newer), "--proof", str(proof))
    assert bad.returncode == 1 and json.loads(bad.stdout)["reason"] == "inconsistent"
    forked = _write(tmp_path / "c", 20, root=b"\x01" * 32)
    fork = _run(str(newer), str(forked))
    verdict = json.loads(fork.stdout)
    assert fork.returncode == 1 and verdict["reason"] == "fork"
    assert len(json.loads(verdict["detail"])["evidence"]) == 2
