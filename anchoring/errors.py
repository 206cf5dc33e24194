"""One small error hierarchy for the anchoring library.

Each error says what was wrong. Errors a remote party can cause (a bad proof, a
malformed note, a forked checkpoint) carry a stable ``reason`` code next to the
human message, so a shell maps them to a status once.
"""

from __future__ import annotations


class AnchoringError(Exception):
    """Base of every error this package raises on purpose."""


class InvalidProof(AnchoringError):
    """A Merkle inclusion or consistency proof does not verify.

    ``reason`` is one of: index_out_of_range, size_out_of_range, wrong_hash_length,
    wrong_proof_length, root_mismatch.
    """

    def __init__(self, reason: str, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


class MalformedNote(AnchoringError):
    """A signed note, checkpoint body, key or witness request does not parse."""


class SignatureError(AnchoringError):
    """No trusted key verified a note, or a trusted key's signature is invalid."""


class InconsistentCheckpoint(AnchoringError):
    """Signing this checkpoint would contradict one already signed (a fork or rollback)."""


class LogError(AnchoringError):
    """A log operation is out of range (unknown log, index past the size, bad leaf)."""
