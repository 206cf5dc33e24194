"""Signed notes, checkpoints, the Checkpointer and cosignatures."""

from __future__ import annotations

import base64

import pytest

from anchoring.checkpoint import (
    Checkpoint,
    Checkpointer,
    MemorySignedCheckpointStore,
    cosign,
    cosignature_timestamp,
    open_checkpoint,
    parse_checkpoint_body,
)
from anchoring.errors import InconsistentCheckpoint, MalformedNote, SignatureError
from anchoring.merkle import build_consistency_proof, leaf_hash, root_from_leaf_hashes
from anchoring.note import (
    ALG_COSIGNATURE_V1,
    Ed25519Signer,
    calculate_key_id,
    open_note,
    parse_note,
    parse_skey,
    parse_vkey,
)

# golang.org/x/mod/sumdb/note's example key and signed note (merkle.md).
VKEY = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
SKEY = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
TEXT = (b"If you think cryptography is the answer to your problem,\n"
        b"then you don't know what your problem is.\n")
SIG_LINE = ("— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKv"
            "qfqdngotpRZb6KE6RyyBwJnAM=\n")
NOTE = TEXT + b"\n" + SIG_LINE.encode()
ORIGIN = "city.example/anchors"


def test_known_note_vector_verifies() -> None:
    verifier = parse_vkey(VKEY)
    assert verifier.key_id.hex() == "c74f20a3"
    assert verifier.vkey() == VKEY
    note, verified = open_note(NOTE, [verifier])
    assert note.text == TEXT
    assert [s.name for s in verified] == ["PeterNeumann"]


def test_known_note_vector_is_reproduced_by_signing() -> None:
    signer = parse_skey(SKEY)
    assert signer.verifier().vkey() == VKEY
    assert signer.sign(TEXT).line() == SIG_LINE
    assert signer.skey() == SKEY


def test_a_changed_text_or_signature_fails() -> None:
    verifier = parse_vkey(VKEY)
    with pytest.raises(SignatureError, match="invalid signature"):
        open_note(NOTE.replace(b"answer", b"Answer"), [verifier])
    other = Ed25519Signer.generate("Other").verifier()
    with pytest.raises(SignatureError, match="no signature"):
        open_note(NOTE, [other])


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong key id
        "PeterNeumann+c74f20a3+AhpcZQcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong type
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10",    # short key
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_bad_vkeys_are_refused(vkey: str) -> None:
    with pytest.raises(MalformedNote):
        parse_vkey(vkey)


@pytest.mark.parametrize(
    "message",
    [
        TEXT + SIG_LINE.encode(),                         # no blank line
        TEXT + b"\n" + SIG_LINE.encode()[:-1],             # no final newline
        TEXT + b"\n" + SIG_LINE.encode().replace("— ".encode(), b"- "),
        TEXT + b"\n" + b"\xe2\x80\x94 PeterNeumann !!!\n",
        b"text\x01\n\n" + SIG_LINE.encode(),              # control character
        TEXT + b"\n" + "— PeterNeumann AAAA\n".encode(),   # too short
    ],
)
def test_malformed_notes_are_refused(message: bytes) -> None:
    with pytest.raises(MalformedNote):
        parse_note(message)


def test_checkpoint_body_round_trip_and_strict_parsing() -> None:
    root = leaf_hash(b"x")
    checkpoint = Checkpoint(ORIGIN, 12, root, ("ext line",))
    body = checkpoint.body()
    assert body == f"{ORIGIN}\n12\n{base64.b64encode(root).decode()}\next line\n".encode()
    assert parse_checkpoint_body(body) == checkpoint
    b64 = base64.b64encode(root).decode()
    for bad in [
        f"{ORIGIN}\n012\n{b64}\n", f"{ORIGIN}\n-1\n{b64}\n", f"{ORIGIN}\n12\n{b64}",
        f"{ORIGIN}\n12\n", f"\n12\n{b64}\n", f"{ORIGIN}\n12\n{b64[:-1]}\n",
        f"{ORIGIN}\n12\n{base64.b64encode(root[:31]).decode()}\n", f"{ORIGIN}\n1 2\n{b64}\n",
        f"{ORIGIN}\n99999999999999999999\n{b64}\n", f"{ORIGIN}\n12\n{b64}\n\n",
    ]:
        with pytest.raises(MalformedNote):
            parse_checkpoint_body(bad.encode())


def _tree(n: int) -> list[bytes]:
    return [leaf_hash(b"record %d" % i) for i in range(n)]


def test_checkpointer_signs_consistent_checkpoints_and_refuses_forks() -> None:
    signer = Ed25519Signer.generate(ORIGIN)
    checkpointer = Checkpointer(ORIGIN, signer, MemorySignedCheckpointStore())
    leaves = _tree(20)
    first = Checkpoint(ORIGIN, 7, root_from_leaf_hashes(leaves[:7]))
    signed = checkpointer.sign(first)
    assert open_checkpoint(signed, [signer.verifier()])[0] == first
    assert checkpointer.sign(first) == signed  # the same checkpoint again is fine

    second = Checkpoint(ORIGIN, 20, root_from_leaf_hashes(leaves))
    with pytest.raises(InconsistentCheckpoint, match="consistency proof"):
        checkpointer.sign(second, [])
    forked = _tree(7) + [leaf_hash(b"other %d" % i) for i in range(13)]
    forked[3] = leaf_hash(b"rewritten")
    fork = Checkpoint(ORIGIN, 20, root_from_leaf_hashes(forked))
    with pytest.raises(InconsistentCheckpoint):
        checkpointer.sign(fork, build_consistency_proof(7, forked))
    checkpointer.sign(second, build_consistency_proof(7, leaves))

    with pytest.raises(InconsistentCheckpoint, match="fork at size 20"):
        checkpointer.sign(Checkpoint(ORIGIN, 20, root_from_leaf_hashes(forked)))
    with pytest.raises(InconsistentCheckpoint, match="below the signed size"):
        checkpointer.sign(first)
    with pytest.raises(InconsistentCheckpoint, match="origin"):
        checkpointer.sign(Checkpoint("other.example/log", 21, leaves[0]))


def test_cosignature_format_and_verification() -> None:
    witness = Ed25519Signer.generate("witness.example/w1", ALG_COSIGNATURE_V1)
    verifier = witness.verifier()
    public = bytes(witness.signing_key.verify_key)
    assert verifier.key_id == calculate_key_id("witness.example/w1", 0x04, public)
    assert verifier.vkey().split("+")[2].startswith("B")  # base64 of 0x04 ‖ key
    log = Ed25519Signer.generate(ORIGIN)
    body = Checkpoint(ORIGIN, 3, root_from_leaf_hashes(_tree(3))).body()
    cosig = cosign(body, witness, 1_700_000_000)
    assert cosignature_timestamp(cosig) == 1_700_000_000
    raw = base64.b64decode(cosig.line().split(" ")[2])
    assert raw[:4] == verifier.key_id and raw[4:12] == (1_700_000_000).to_bytes(8, "big")
    assert len(raw) == 4 + 8 + 64
    note = body + b"\n" + log.sign(body).line().encode() + cosig.line().encode()
    checkpoint, _, verified = open_checkpoint(note, [log.verifier(), verifier])
    assert checkpoint.size == 3 and len(verified) == 2
    forged = cosign(body, witness, 1_700_000_001)
    tampered = forged.line().replace(
        forged.line().split(" ")[2],
        base64.b64encode(raw[:4] + (1_700_000_001).to_bytes(8, "big") + raw[12:]).decode() + "\n",
    )
    with pytest.raises(SignatureError):
        open_note(body + b"\n" + tampered.encode(), [verifier])
    with pytest.raises(MalformedNote):
        witness.sign(body)  # a cosignature needs a time
