"""Auditor checks with stable reasons: records against anchored checkpoints, forks."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from anchoring.anchored_log import AnchoredLog, SqlOutbox, chain_log_id
from anchoring.checkpoint import Checkpoint
from anchoring.merkle import leaf_hash
from anchoring.migrations import upgrade
from anchoring.note import Ed25519Signer, sign_note
from anchoring.store_sql import make_engine
from anchoring.verification import RecordProof, compare_checkpoints, verify_record
from anchoring.worker import AnchorOnChain

ORIGIN = "citychain.test/regulatory-traces"


class AnchoredOnChain:
    """What the AnchorRegistry would hold after the worker ran (sizes -> roots)."""

    def __init__(self) -> None:
        self.anchors: dict[tuple[bytes, int], bytes] = {}

    def anchor_at_size(self, log_id: bytes, size: int) -> AnchorOnChain | None:
        root = self.anchors.get((log_id, size))
        return None if root is None else AnchorOnChain(size, root, 42)


@pytest.fixture
def setup(tmp_path: Path):
    engine = make_engine(f"sqlite:///{tmp_path / 'log.db'}")
    upgrade(engine)
    signer = Ed25519Signer.generate("citychain.test/traces-key")
    log = AnchoredLog(engine, ORIGIN, signer)
    entries = [f"trace event {i}".encode() for i in range(13)]
    log.append(entries[:5])
    log.append(entries[5:])
    chain = AnchoredOnChain()
    for row in SqlOutbox(engine).pending(100):
        chain.anchors[(row.log_id, row.size)] = row.root
    return log, signer, entries, chain


def _bundle(log: AnchoredLog, index: int) -> RecordProof:
    return RecordProof.from_json(log.proof_bundle(index))


def test_a_record_verifies_against_its_anchored_checkpoint(setup) -> None:
    log, signer, entries, chain = setup
    verdict = verify_record(_bundle(log, 7), [signer.verifier()], chain)
    assert verdict.valid and verdict.anchored_block == 42
    # The bundle also verifies from the entry itself.
    document = log.proof_bundle(7)
    del document["leafHash"]
    document["entry"] = base64.b64encode(entries[7]).decode()
    assert verify_record(RecordProof.from_json(document), [signer.verifier()], chain).valid


def _with(bundle: RecordProof, **changes: object) -> RecordProof:
    fields = {**bundle.__dict__, **changes}
    return RecordProof(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("tamper", "reason"),
    [
        ("changed leaf", "bad_proof"),
        ("reordered leaves", "bad_proof"),
        ("dropped entry", "bad_proof"),
        ("other key", "unknown_key"),
        ("forged signature", "signature_invalid"),
        ("other origin", "wrong_origin"),
        ("not anchored", "checkpoint_not_anchored"),
        ("split view", "anchored_root_differs"),
    ],
)
def test_each_kind_of_tampering_is_detected_with_its_reason(setup, tamper: str, reason: str) -> None:
    log, signer, entries, chain = setup
    bundle = _bundle(log, 7)
    keys = [signer.verifier()]
    if tamper == "changed leaf":
        bundle = _with(bundle, leaf_hash=leaf_hash(b"trace event 7 (edited)"))
    elif tamper == "reordered leaves":
        bundle = _with(bundle, leaf_hash=leaf_hash(entries[8]))  # entry 8 claimed at index 7
    elif tamper == "dropped entry":
        bundle = _with(bundle, index=6)  # entry 7 presented as if entry 6 had been removed
    elif tamper == "other key":
        keys = [Ed25519Signer.generate("citychain.test/traces-key").verifier()]
    elif tamper == "forged signature":
        note = bytearray(bundle.checkpoint_note)
        note[-10] = ord("A") if note[-10] != ord("A") else ord("B")
        bundle = _with(bundle, checkpoint_note=bytes(note))
    elif tamper == "other origin":
        bundle = _with(bundle, origin="citychain.test/another-log")
    elif tamper == "not anchored":
        chain.anchors.clear()
    elif tamper == "split view":
        chain.anchors[(chain_log_id(ORIGIN), 13)] = b"\x66" * 32
    verdict = verify_record(bundle, keys, chain)
    assert not verdict.valid and verdict.reason == reason, verdict


def test_two_checkpoints_are_consistent_or_a_fork(setup) -> None:
    log, signer, entries, chain = setup
    first = SqlOutbox(log.engine)
    notes = sorted((row.size, row) for row in first.pending(100))
    size1, size2 = notes[0][0], notes[1][0]
    older = sign_note(Checkpoint(ORIGIN, size1, log.tree.root(size1)).body(), [signer])
    newer = sign_note(Checkpoint(ORIGIN, size2, log.tree.root(size2)).body(), [signer])
    proof = log.consistency_proof(size1, size2)
    assert compare_checkpoints(older, newer, proof, [signer.verifier()]).valid
    bad = compare_checkpoints(older, newer, proof[:-1], [signer.verifier()])
    assert bad.reason == "inconsistent"
    forked = sign_note(Checkpoint(ORIGIN, size2, b"\x01" * 32).body(), [signer])
    fork = compare_checkpoints(newer, forked, [], [signer.verifier()])
    assert fork.reason == "fork" and log.tree.root(size2).hex() in fork.detail


def test_malformed_bundles_are_named() -> None:
    with pytest.raises(ValueError, match="malformed proof bundle"):
        RecordProof.from_json({"origin": "x", "index": -1, "leafHash": "", "proof": [], "checkpoint": ""})
    with pytest.raises(ValueError, match="malformed proof bundle"):
        RecordProof.from_json([])
