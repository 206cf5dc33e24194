"""The pure logic of a c2sp.org/tlog-witness ``add-checkpoint`` call.

No HTTP, no clock: a shell passes the request body and the time, and gets back a
status, a content type and a body. The witness keeps the latest (size, root) it
cosigned per origin behind ``WitnessStateStore``, whose compare-and-set makes the
check and the update one atomic step (the spec's rollback race).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from anchoring.checkpoint import Checkpoint, cosign, parse_checkpoint_body, parse_size
from anchoring.errors import AnchoringError, InvalidProof, MalformedNote, SignatureError
from anchoring.merkle import EMPTY_ROOT, verify_consistency
from anchoring.note import Ed25519Signer, Verifier, b64decode_strict, open_note, parse_note

MAX_PROOF_LINES = 63


@dataclass(frozen=True)
class TreeHead:
    size: int
    root: bytes


@dataclass(frozen=True)
class AddCheckpointRequest:
    old_size: int
    proof: tuple[bytes, ...]
    checkpoint_note: bytes


@dataclass(frozen=True)
class WitnessResponse:
    status: int
    content_type: str
    body: bytes


class WitnessRejected(AnchoringError):
    """A request the witness must refuse; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, reason: str, message: str, latest_size: int | None = None) -> None:
        super().__init__(f"{reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message
        self.latest_size = latest_size


class WitnessStateStore(Protocol):
    def latest(self, origin: str) -> TreeHead | None: ...

    def compare_and_set(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        """Store ``new`` only if the latest is still ``expected``; say whether it did."""
        ...


class MemoryWitnessState:
    def __init__(self) -> None:
        self._heads: dict[str, TreeHead] = {}
        self._lock = threading.Lock()

    def latest(self, origin: str) -> TreeHead | None:
        return self._heads.get(origin)

    def compare_and_set(self, origin: str, expected: TreeHead | None, new: TreeHead) -> bool:
        with self._lock:
            if self._heads.get(origin) != expected:
                return False
            self._heads[origin] = new
            return True


def parse_add_checkpoint_request(body: bytes) -> AddCheckpointRequest:
    """``old <size>\\n``, up to 63 base64 proof lines, a blank line, the checkpoint note."""
    first, sep, rest = body.partition(b"\n")
    if not sep or not first.startswith(b"old "):
        raise MalformedNote("request must start with an 'old <size>' line")
    old_size = parse_size(first[4:].decode("ascii", "replace"), "old size")
    proof: list[bytes] = []
    while True:
        line, sep, rest = rest.partition(b"\n")
        if not sep:
            raise MalformedNote("request has no blank line before the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise MalformedNote(f"request has more than {MAX_PROOF_LINES} proof lines")
        proof.append(b64decode_strict(line.decode("ascii", "replace"), f"proof line {len(proof)}"))
    return AddCheckpointRequest(old_size, tuple(proof), rest)


class Witness:
    """Cosigns checkpoints of known logs that extend what it cosigned before."""

    def __init__(
        self,
        cosigner: Ed25519Signer,
        log_keys: Mapping[str, Sequence[Verifier]],
        state: WitnessStateStore,
    ) -> None:
        self.cosigner = cosigner
        self.log_keys = log_keys
        self.state = state

    def add_checkpoint(self, body: bytes, now: int) -> WitnessResponse:
        """Handle one request; every refusal becomes its status, never an exception."""
        try:
            line = self.process(body, now)
        except WitnessRejected as rejected:
            if rejected.latest_size is not None:
                return WitnessResponse(409, "text/x.tlog.size", b"%d\n" % rejected.latest_size)
            return WitnessResponse(rejected.status, "text/plain", rejected.message.encode() + b"\n")
        return WitnessResponse(200, "text/plain", line.encode())

    def process(self, body: bytes, now: int) -> str:
        """Check the request; on success store the new head and return the cosignature line."""
        try:
            request = parse_add_checkpoint_request(body)
            checkpoint = parse_checkpoint_body(parse_note(request.checkpoint_note).text)
        except MalformedNote as err:
            raise WitnessRejected(400, "malformed", str(err)) from err
        verifiers = self.log_keys.get(checkpoint.origin)
        if not verifiers:
            raise WitnessRejected(404, "unknown_origin", f"unknown log origin {checkpoint.origin!r}")
        try:
            open_note(request.checkpoint_note, verifiers)
        except SignatureError as err:
            raise WitnessRejected(403, "bad_signature", str(err)) from err
        if request.old_size > checkpoint.size:
            raise WitnessRejected(
                400, "old_size_too_large", f"old size {request.old_size} > checkpoint size {checkpoint.size}"
            )
        latest = self.state.latest(checkpoint.origin)
        latest_size = latest.size if latest else 0
        if request.old_size != latest_size:
            raise WitnessRejected(
                409, "old_size_mismatch",
                f"old size {request.old_size} is not the latest cosigned size {latest_size}",
                latest_size=latest_size,
            )
        validate_extension(latest, checkpoint, request.proof)
        new = TreeHead(checkpoint.size, checkpoint.root)
        if not self.state.compare_and_set(checkpoint.origin, latest, new):
            current = self.state.latest(checkpoint.origin)
            raise WitnessRejected(
                409, "concurrent_update", "another request advanced this log first",
                latest_size=current.size if current else 0,
            )
        return cosign(checkpoint.body(), self.cosigner, now).line()


def validate_extension(latest: TreeHead | None, checkpoint: Checkpoint, proof: Sequence[bytes]) -> None:
    """Raise WitnessRejected (409 fork, 422 bad proof) unless ``checkpoint`` extends ``latest``."""
    if latest is None or latest.size == 0:
        if proof:
            raise WitnessRejected(422, "bad_proof", "the proof must be empty when the old size is 0")
        if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
            raise WitnessRejected(422, "bad_proof", "a tree of size 0 must have the empty root")
        return
    if checkpoint.size == latest.size:
        if checkpoint.root != latest.root:
            raise WitnessRejected(
                409, "fork",
                f"fork at size {latest.size}: cosigned root {latest.root.hex()}, "
                f"submitted root {checkpoint.root.hex()}",
            )
        if proof:
            raise WitnessRejected(422, "bad_proof", "the proof must be empty for an unchanged size")
        return
    try:
        verify_consistency(latest.size, checkpoint.size, proof, latest.root, checkpoint.root)
    except InvalidProof as err:
        raise WitnessRejected(
            422, "bad_proof", f"consistency {latest.size}->{checkpoint.size} fails: {err}"
        ) from err
