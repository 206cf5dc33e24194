"""C2SP tlog-checkpoint bodies, and a Checkpointer that never signs a fork.

Body: ``<origin>\\n<size>\\n<base64 root>\\n`` then optional extension lines. The
Checkpointer keeps the last checkpoint it signed (behind a small Protocol so it
survives restarts) and signs a new one only with a consistency proof from it.
"""

from __future__ import annotations

import base64
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from anchoring.errors import InconsistentCheckpoint, InvalidProof, MalformedNote
from anchoring.merkle import HASH_SIZE, verify_consistency
from anchoring.note import (
    Ed25519Signer,
    Note,
    NoteSignature,
    Verifier,
    b64decode_strict,
    open_note,
    sign_note,
)

_SIZE = re.compile(r"0|[1-9][0-9]*")
MAX_SIZE = 2**63 - 1


def parse_size(text: str, what: str) -> int:
    """ASCII decimal, no leading zeros, no sign, at most 2^63-1."""
    if not _SIZE.fullmatch(text) or len(text) > 19 or int(text) > MAX_SIZE:
        raise MalformedNote(f"{what} {text!r} is not a decimal size without leading zeros")
    return int(text)


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.origin or "\n" in self.origin or self.origin != self.origin.strip():
            raise MalformedNote(f"origin {self.origin!r} must be a non-empty line without edge spaces")
        if not 0 <= self.size <= MAX_SIZE:
            raise MalformedNote(f"tree size {self.size} is out of range")
        if len(self.root) != HASH_SIZE:
            raise MalformedNote(f"root hash is {len(self.root)} bytes, want {HASH_SIZE}")
        if any(not line or "\n" in line for line in self.extensions):
            raise MalformedNote("extension lines must be non-empty single lines")

    def body(self) -> bytes:
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode(), *self.extensions]
        return ("\n".join(lines) + "\n").encode()


def parse_checkpoint_body(text: bytes) -> Checkpoint:
    """Strictly parse a checkpoint note text (the part before the blank line)."""
    try:
        decoded = text.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedNote("checkpoint is not UTF-8") from None
    if not decoded.endswith("\n"):
        raise MalformedNote("checkpoint must end with a newline")
    lines = decoded[:-1].split("\n")
    if len(lines) < 3:
        raise MalformedNote(f"checkpoint has {len(lines)} lines, want origin, size and root")
    origin, size, root, *extensions = lines
    checkpoint = Checkpoint(
        origin, parse_size(size, "tree size"), b64decode_strict(root, "root hash"), tuple(extensions)
    )
    if checkpoint.body() != text:
        raise MalformedNote("checkpoint is not in canonical form")
    return checkpoint


def open_checkpoint(
    message: bytes, verifiers: Iterable[Verifier]
) -> tuple[Checkpoint, Note, list[NoteSignature]]:
    """Verify a signed checkpoint note and parse its body."""
    note, verified = open_note(message, verifiers)
    return parse_checkpoint_body(note.text), note, verified


def validate_consistent(
    old: Checkpoint, new: Checkpoint, proof: Sequence[bytes]
) -> None:
    """Raise InconsistentCheckpoint unless ``new`` extends ``old`` (same origin)."""
    if old.origin != new.origin:
        raise InconsistentCheckpoint(f"origin {new.origin!r} is not {old.origin!r}")
    if new.size < old.size:
        raise InconsistentCheckpoint(f"size {new.size} is below the signed size {old.size}")
    if new.size == old.size:
        if new.root != old.root:
            raise InconsistentCheckpoint(
                f"fork at size {new.size}: root {new.root.hex()} != signed root {old.root.hex()}"
            )
        return
    if old.size == 0:
        return  # every tree extends the empty one
    try:
        verify_consistency(old.size, new.size, proof, old.root, new.root)
    except InvalidProof as err:
        raise InconsistentCheckpoint(
            f"no valid consistency proof from size {old.size} to {new.size}: {err}"
        ) from err


class SignedCheckpointStore(Protocol):
    """The last checkpoint a log signed, with compare-and-set so two signers can't race."""

    def latest(self, origin: str) -> Checkpoint | None: ...

    def compare_and_set(self, expected: Checkpoint | None, new: Checkpoint) -> bool: ...


class MemorySignedCheckpointStore:
    def __init__(self) -> None:
        self._latest: dict[str, Checkpoint] = {}
        self._lock = threading.Lock()

    def latest(self, origin: str) -> Checkpoint | None:
        return self._latest.get(origin)

    def compare_and_set(self, expected: Checkpoint | None, new: Checkpoint) -> bool:
        with self._lock:
            if self._latest.get(new.origin) != expected:
                return False
            self._latest[new.origin] = new
            return True


class Checkpointer:
    """Signs checkpoints of one log; refuses any inconsistent with the last it signed."""

    def __init__(self, origin: str, signer: Ed25519Signer, store: SignedCheckpointStore) -> None:
        self.origin = origin
        self.signer = signer
        self.store = store

    def sign(self, checkpoint: Checkpoint, proof: Sequence[bytes] = ()) -> bytes:
        """Sign ``checkpoint`` given a consistency proof from the last signed one."""
        if checkpoint.origin != self.origin:
            raise InconsistentCheckpoint(f"origin {checkpoint.origin!r} is not {self.origin!r}")
        previous = self.store.latest(self.origin)
        if previous is not None:
            validate_consistent(previous, checkpoint, proof)
        if previous != checkpoint and not self.store.compare_and_set(previous, checkpoint):
            raise InconsistentCheckpoint("another checkpoint was signed concurrently; retry")
        return sign_note(checkpoint.body(), [self.signer])


def cosign(checkpoint_body: bytes, cosigner: Ed25519Signer, timestamp: int) -> NoteSignature:
    """A tlog-cosignature/v1 (type 0x04) on a checkpoint body at ``timestamp``."""
    parse_checkpoint_body(checkpoint_body)
    return cosigner.sign(checkpoint_body, timestamp)


def cosignature_timestamp(signature: NoteSignature) -> int:
    if len(signature.signature) != 72:
        raise MalformedNote(f"cosignature by {signature.name!r} is not 8 + 64 bytes")
    return int.from_bytes(signature.signature[:8], "big")
