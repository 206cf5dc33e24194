"""Asking witnesses to cosign a checkpoint before it is anchored (c2sp.org/tlog-witness).

A witness keeps the latest size it cosigned per log. We first offer our
consistency proof from the size we believe it holds; a 409 answer carries its
real latest size, and we retry once with a proof from there. The cosignature
lines are appended to the signed checkpoint note, and their number is anchored.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import httpx

from anchoring.note import Verifier, open_note

log = logging.getLogger("citychain.anchoring")

ProofFrom = Callable[[int], Sequence[bytes]]  # consistency proof from an old size to the checkpoint


@dataclass(frozen=True)
class WitnessEndpoint:
    url: str  # .../add-checkpoint
    verifier: Verifier  # the witness's cosignature key (alg 0x04)


def _body(old_size: int, proof: Sequence[bytes], note: bytes) -> bytes:
    lines = [f"old {old_size}\n"] + [base64.b64encode(p).decode() + "\n" for p in proof] + ["\n"]
    return "".join(lines).encode() + note


def request_cosignature(
    endpoint: WitnessEndpoint, note: bytes, size: int, proof_from: ProofFrom,
    believed_size: int = 0, timeout: float = 10.0,
) -> str | None:
    """The witness's verified cosignature line, or None (refused, unreachable, invalid)."""
    old = believed_size
    for _ in range(2):
        proof = list(proof_from(old)) if 0 < old < size else []
        try:
            answer = httpx.post(endpoint.url, content=_body(old, proof, note), timeout=timeout)
        except httpx.HTTPError as exc:
            log.warning("witness %s unreachable: %s", endpoint.url, exc)
            return None
        if answer.status_code == 409 and answer.text.strip().isdigit():
            old = int(answer.text.strip())  # the witness's latest size: retry from there
            continue
        if answer.status_code != 200:
            log.warning("witness %s refused (%d): %s", endpoint.url, answer.status_code, answer.text.strip())
            return None
        line = answer.text
        cosigned = note.rstrip(b"\n") + b"\n" + line.encode()
        try:
            _, verified = open_note(cosigned, [endpoint.verifier])
        except Exception as exc:  # a witness answering garbage must not stop anchoring
            log.warning("witness %s sent an invalid cosignature: %s", endpoint.url, exc)
            return None
        return line if verified else None
    return None
