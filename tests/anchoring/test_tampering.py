"""Tampering with a log is caught by verifying against a signed checkpoint."""

from __future__ import annotations

import pytest

from anchoring.checkpoint import (
    Checkpoint,
    Checkpointer,
    MemorySignedCheckpointStore,
    open_checkpoint,
)
from anchoring.errors import InconsistentCheckpoint, InvalidProof
from anchoring.merkle import (
    build_consistency_proof,
    build_inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from anchoring.note import ALG_COSIGNATURE_V1, Ed25519Signer, sign_note
from anchoring.tiles import MemoryNodeStore, TiledLog
from anchoring.witness import MemoryWitnessState, Witness

from .test_witness import _request

ORIGIN = "city.example/anchors"
SIGNER = Ed25519Signer.generate(ORIGIN)
RECORDS = [b"licence %d granted" % i for i in range(37)]


@pytest.fixture
def signed() -> Checkpoint:
    log = TiledLog(MemoryNodeStore())
    log.append([leaf_hash(r) for r in RECORDS], RECORDS)
    note = Checkpointer(ORIGIN, SIGNER, MemorySignedCheckpointStore()).sign(
        Checkpoint(ORIGIN, log.size(), log.root())
    )
    return open_checkpoint(note, [SIGNER.verifier()])[0]


def _audit(records: list[bytes], checkpoint: Checkpoint) -> None:
    """An auditor's check: each record is at its index in the signed tree."""
    hashes = [leaf_hash(r) for r in records]
    if len(hashes) != checkpoint.size:
        raise InvalidProof("size_out_of_range", f"{len(hashes)} records, checkpoint says {checkpoint.size}")
    for index, h in enumerate(hashes):
        verify_inclusion(h, index, checkpoint.size, build_inclusion_proof(index, hashes), checkpoint.root)


def test_the_untouched_log_verifies(signed: Checkpoint) -> None:
    _audit(list(RECORDS), signed)


def test_a_changed_leaf_is_detected(signed: Checkpoint) -> None:
    records = list(RECORDS)
    records[11] = b"licence 11 revoked"
    with pytest.raises(InvalidProof, match="root_mismatch"):
        _audit(records, signed)
    # Even the honest proof for the original record cannot vouch for the changed one.
    honest = build_inclusion_proof(11, [leaf_hash(r) for r in RECORDS])
    with pytest.raises(InvalidProof, match="root_mismatch"):
        verify_inclusion(leaf_hash(records[11]), 11, signed.size, honest, signed.root)


def test_reordered_leaves_are_detected(signed: Checkpoint) -> None:
    records = list(RECORDS)
    records[3], records[4] = records[4], records[3]
    with pytest.raises(InvalidProof, match="root_mismatch"):
        _audit(records, signed)


def test_a_dropped_entry_is_detected(signed: Checkpoint) -> None:
    records = RECORDS[:20] + RECORDS[21:]
    with pytest.raises(InvalidProof):
        _audit(records, signed)
    hashes = [leaf_hash(r) for r in records]
    with pytest.raises(InvalidProof, match="root_mismatch"):
        verify_inclusion(hashes[20], 20, signed.size, build_inclusion_proof(20, hashes + [hashes[0]]),
                         signed.root)


def test_a_forked_log_is_detected_by_signer_witness_and_auditor(signed: Checkpoint) -> None:
    forked = [*RECORDS[:30], b"licence 30 backdated", *RECORDS[31:], b"licence 37 granted"]
    hashes = [leaf_hash(r) for r in forked]
    fork = Checkpoint(ORIGIN, len(hashes), root_from_leaf_hashes(hashes))
    proof = build_consistency_proof(signed.size, hashes)
    with pytest.raises(InvalidProof):
        verify_consistency(signed.size, fork.size, proof, signed.root, fork.root)

    store = MemorySignedCheckpointStore()
    assert store.compare_and_set(None, signed)
    with pytest.raises(InconsistentCheckpoint):
        Checkpointer(ORIGIN, SIGNER, store).sign(fork, proof)

    witness = Witness(Ed25519Signer.generate("w.example/1", ALG_COSIGNATURE_V1),
                      {ORIGIN: [SIGNER.verifier()]}, MemoryWitnessState())

    assert witness.add_checkpoint(_request(0, [], sign_note(signed.body(), [SIGNER])), 1).status == 200
    # A log that signs the fork anyway (a compromised key) is still refused by the witness.
    fork_note = sign_note(fork.body(), [SIGNER])
    assert witness.add_checkpoint(_request(signed.size, proof, fork_note), 2).status == 422
    same_size = Checkpoint(ORIGIN, signed.size, root_from_leaf_hashes(hashes[: signed.size]))
    assert witness.add_checkpoint(_request(signed.size, [], sign_note(same_size.body(), [SIGNER])), 3).status == 409
