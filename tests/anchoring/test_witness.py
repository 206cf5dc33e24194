"""tlog-witness add-checkpoint: 200, 400, 403, 404, 409 and 422."""

from __future__ import annotations

import base64
import threading

from anchoring.checkpoint import Checkpoint
from anchoring.merkle import build_consistency_proof, leaf_hash, root_from_leaf_hashes
from anchoring.note import ALG_COSIGNATURE_V1, Ed25519Signer, open_note, sign_note
from anchoring.witness import (
    MemoryWitnessState,
    TreeHead,
    Witness,
    WitnessStateStore,
    parse_add_checkpoint_request,
)

ORIGIN = "city.example/anchors"
LOG = Ed25519Signer.generate(ORIGIN)
COSIGNER = Ed25519Signer.generate("regulator.example/witness", ALG_COSIGNATURE_V1)
LEAVES = [leaf_hash(b"record %d" % i) for i in range(50)]
NOW = 1_750_000_000


def _note(leaves: list[bytes], signer: Ed25519Signer = LOG, origin: str = ORIGIN) -> bytes:
    return sign_note(Checkpoint(origin, len(leaves), root_from_leaf_hashes(leaves)).body(), [signer])


def _request(old: int, proof: list[bytes], note: bytes) -> bytes:
    lines = [f"old {old}\n"] + [base64.b64encode(p).decode() + "\n" for p in proof] + ["\n"]
    return "".join(lines).encode() + note


def _witness(state: WitnessStateStore | None = None) -> Witness:
    return Witness(COSIGNER, {ORIGIN: [LOG.verifier()]}, state or MemoryWitnessState())


def test_first_checkpoint_then_consistent_growth_is_cosigned() -> None:
    witness = _witness()
    note = _note(LEAVES[:10])
    response = witness.add_checkpoint(_request(0, [], note), NOW)
    assert response.status == 200
    cosigned = note + response.body
    _, verified = open_note(cosigned, [LOG.verifier(), COSIGNER.verifier()])
    assert len(verified) == 2
    grown = witness.add_checkpoint(
        _request(10, build_consistency_proof(10, LEAVES[:30]), _note(LEAVES[:30])), NOW + 1
    )
    assert grown.status == 200
    assert witness.state.latest(ORIGIN) == TreeHead(30, root_from_leaf_hashes(LEAVES[:30]))
    same = witness.add_checkpoint(_request(30, [], _note(LEAVES[:30])), NOW + 2)
    assert same.status == 200


def test_stale_old_size_is_409_with_the_latest_size() -> None:
    witness = _witness()
    witness.add_checkpoint(_request(0, [], _note(LEAVES[:10])), NOW)
    response = witness.add_checkpoint(
        _request(5, build_consistency_proof(5, LEAVES[:30]), _note(LEAVES[:30])), NOW
    )
    assert (response.status, response.content_type, response.body) == (409, "text/x.tlog.size", b"10\n")


def test_same_size_different_root_is_a_409_fork_naming_both_roots() -> None:
    witness = _witness()
    witness.add_checkpoint(_request(0, [], _note(LEAVES[:10])), NOW)
    forked = [*LEAVES[:9], leaf_hash(b"rewritten")]
    response = witness.add_checkpoint(_request(10, [], _note(forked)), NOW)
    assert response.status == 409
    assert root_from_leaf_hashes(forked).hex().encode() in response.body
    assert root_from_leaf_hashes(LEAVES[:10]).hex().encode() in response.body


def test_bad_proof_is_422_and_state_is_untouched() -> None:
    witness = _witness()
    witness.add_checkpoint(_request(0, [], _note(LEAVES[:10])), NOW)
    forked = [*LEAVES[:3], leaf_hash(b"rewritten"), *LEAVES[4:30]]
    response = witness.add_checkpoint(
        _request(10, build_consistency_proof(10, forked), _note(forked)), NOW
    )
    assert response.status == 422
    proof = build_consistency_proof(10, LEAVES[:30])
    assert witness.add_checkpoint(_request(10, proof[:-1], _note(LEAVES[:30])), NOW).status == 422
    assert witness.add_checkpoint(_request(0, [LEAVES[0]], _note(LEAVES[:5])), NOW).status == 409
    assert witness.state.latest(ORIGIN) == TreeHead(10, root_from_leaf_hashes(LEAVES[:10]))


def test_unknown_origin_bad_signature_and_malformed_requests() -> None:
    witness = _witness()
    other = Ed25519Signer.generate("other.example/log")
    assert witness.add_checkpoint(_request(0, [], _note(LEAVES[:3], other, "other.example/log")), NOW).status == 404
    impostor = Ed25519Signer.generate(ORIGIN)
    assert witness.add_checkpoint(_request(0, [], _note(LEAVES[:3], impostor)), NOW).status == 403
    assert witness.add_checkpoint(_request(9, [], _note(LEAVES[:3])), NOW).status == 400
    assert witness.add_checkpoint(b"old 01\n\n" + _note(LEAVES[:3]), NOW).status == 400
    assert witness.add_checkpoint(b"old 0\n!!\n\n" + _note(LEAVES[:3]), NOW).status == 400
    assert witness.add_checkpoint(b"new 0\n\n" + _note(LEAVES[:3]), NOW).status == 400
    too_many = _request(0, [LEAVES[0]] * 64, _note(LEAVES[:3]))
    assert witness.add_checkpoint(too_many, NOW).status == 400
    assert witness.state.latest(ORIGIN) is None


def test_request_parsing() -> None:
    proof = build_consistency_proof(3, LEAVES[:8])
    request = parse_add_checkpoint_request(_request(3, proof, b"note"))
    assert (request.old_size, list(request.proof), request.checkpoint_note) == (3, proof, b"note")


def test_concurrent_requests_cannot_both_advance() -> None:
    witness = _witness()
    witness.add_checkpoint(_request(0, [], _note(LEAVES[:10])), NOW)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def submit(size: int) -> None:
        body = _request(10, build_consistency_proof(10, LEAVES[:size]), _note(LEAVES[:size]))
        barrier.wait()
        statuses.append(witness.add_checkpoint(body, NOW).status)

    threads = [threading.Thread(target=submit, args=(20 + i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses).count(200) == 1 and statuses.count(409) == 7
