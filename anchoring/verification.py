"""What an auditor checks: a record against a signed, anchored checkpoint; two checkpoints
against each other. Every failure has a stable reason code.

Record: entry (or its leaf hash) -> inclusion proof -> checkpoint signed by the
log's key -> the same (size, root) anchored in AnchorRegistry.
Two checkpoints of one log: consistent (with a consistency proof), or a fork —
two signed checkpoints that cannot both describe one append-only log are
themselves the proof of misbehaviour.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from anchoring.anchored_log import chain_log_id
from anchoring.checkpoint import Checkpoint, open_checkpoint
from anchoring.errors import AnchoringError, InvalidProof, SignatureError
from anchoring.merkle import leaf_hash, verify_consistency, verify_inclusion
from anchoring.note import Verifier, parse_note
from anchoring.worker import AnchorOnChain

# Stable reason codes
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown_key"  # not signed by this log's key: an unknown checkpoint
SIGNATURE_INVALID = "signature_invalid"
WRONG_ORIGIN = "wrong_origin"
BAD_PROOF = "bad_proof"
NOT_ANCHORED = "checkpoint_not_anchored"
ANCHORED_ROOT_DIFFERS = "anchored_root_differs"  # the chain holds another root at this size
FORK = "fork"
INCONSISTENT = "inconsistent"


class AnchorReader(Protocol):
    def anchor_at_size(self, log_id: bytes, size: int) -> AnchorOnChain | None: ...


@dataclass(frozen=True)
class Verdict:
    valid: bool
    reason: str | None = None
    detail: str = ""
    anchored_block: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"valid": self.valid, "reason": self.reason, "detail": self.detail,
                "anchoredBlock": self.anchored_block}


@dataclass(frozen=True)
class RecordProof:
    """An inclusion proof bundle, as JSON: origin, index, leafHash or entry (base64),
    proof (list of base64 hashes), checkpoint (the signed note, text)."""

    origin: str
    index: int
    leaf_hash: bytes
    proof: tuple[bytes, ...]
    checkpoint_note: bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "origin": self.origin, "index": self.index,
            "leafHash": base64.b64encode(self.leaf_hash).decode(),
            "proof": [base64.b64encode(p).decode() for p in self.proof],
            "checkpoint": self.checkpoint_note.decode(),
        }

    @classmethod
    def from_json(cls, document: Any) -> RecordProof:
        try:
            if not isinstance(document, dict):
                raise ValueError("a proof bundle is a JSON object")
            if "leafHash" in document:
                leaf = base64.b64decode(document["leafHash"], validate=True)
            else:
                leaf = leaf_hash(base64.b64decode(document["entry"], validate=True))
            index = document["index"]
            if not isinstance(index, int) or isinstance(index, bool) or index < 0:
                raise ValueError("index must be a non-negative integer")
            return cls(
                origin=str(document["origin"]), index=index, leaf_hash=leaf,
                proof=tuple(base64.b64decode(p, validate=True) for p in document["proof"]),
                checkpoint_note=str(document["checkpoint"]).encode(),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed proof bundle: {exc}") from exc


def _open(note: bytes, verifiers: Sequence[Verifier]) -> tuple[Checkpoint | None, Verdict | None]:
    try:
        signatures = parse_note(note).signatures
    except AnchoringError as exc:
        return None, Verdict(False, MALFORMED, str(exc))
    trusted = {(v.name, v.key_id) for v in verifiers}
    if not any((sig.name, sig.key_id) in trusted for sig in signatures):
        return None, Verdict(False, UNKNOWN_KEY, "the checkpoint is not signed by this log's key")
    try:
        checkpoint, _note, verified = open_checkpoint(note, verifiers)
    except SignatureError as exc:
        return None, Verdict(False, SIGNATURE_INVALID, str(exc))
    except AnchoringError as exc:
        return None, Verdict(False, MALFORMED, str(exc))
    if not verified:
        return None, Verdict(False, UNKNOWN_KEY, "the checkpoint is not signed by this log's key")
    return checkpoint, None


def verify_record(bundle: RecordProof, log_keys: Sequence[Verifier], chain: AnchorReader | None) -> Verdict:
    checkpoint, failed = _open(bundle.checkpoint_note, log_keys)
    if failed is not None or checkpoint is None:
        return failed or Verdict(False, MALFORMED)
    if checkpoint.origin != bundle.origin:
        return Verdict(False, WRONG_ORIGIN, f"checkpoint is of {checkpoint.origin!r}, not {bundle.origin!r}")
    try:
        verify_inclusion(bundle.leaf_hash, bundle.index, checkpoint.size, list(bundle.proof), checkpoint.root)
    except InvalidProof as exc:
        return Verdict(False, BAD_PROOF, f"{exc.reason}: {exc}")
    if chain is None:
        return Verdict(True, None, "inclusion and signature valid; not checked against the chain")
    anchored = chain.anchor_at_size(chain_log_id(checkpoint.origin), checkpoint.size)
    if anchored is None:
        return Verdict(False, NOT_ANCHORED, f"no anchor of size {checkpoint.size} for this log on chain")
    if anchored.root != checkpoint.root:
        return Verdict(False, ANCHORED_ROOT_DIFFERS,
                       f"chain anchored root {anchored.root.hex()} at size {checkpoint.size}, "
                       f"the checkpoint says {checkpoint.root.hex()}: a split view", anchored.block_number)
    return Verdict(True, None, "valid", anchored.block_number)


def compare_checkpoints(
    older: bytes, newer: bytes, proof: Sequence[bytes], log_keys: Sequence[Verifier]
) -> Verdict:
    first, failed = _open(older, log_keys)
    if failed is not None or first is None:
        return failed or Verdict(False, MALFORMED)
    second, failed = _open(newer, log_keys)
    if failed is not None or second is None:
        return failed or Verdict(False, MALFORMED)
    if first.origin != second.origin:
        return Verdict(False, WRONG_ORIGIN, "the checkpoints are of different logs")
    if first.size > second.size:
        first, second = second, first
    if first.size == second.size:
        if first.root != second.root:
            return Verdict(False, FORK, json.dumps({
                "size": first.size, "roots": [first.root.hex(), second.root.hex()],
                "evidence": [older.decode(), newer.decode()]}))
        return Verdict(True, None, "identical checkpoints")
    try:
        verify_consistency(first.size, second.size, list(proof), first.root, second.root)
    except InvalidProof as exc:
        return Verdict(False, INCONSISTENT, f"{exc.reason}: {exc}")
    return Verdict(True, None, f"size {second.size} extends size {first.size}")
