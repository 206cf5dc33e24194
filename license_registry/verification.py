"""The verdict on a city code or a full credential: every check, its outcome, and a
stable reason code when it fails. Pure: trust data, status and anchoring evidence are
passed in, so online (live chain and database) and offline (signed trust bundle)
verification run this same code.

A verdict is ``valid`` only if no check fails. A check that cannot run because an
earlier one failed is ``skipped``; offline, the anchoring check is ``skipped`` (a
printed code cannot carry its inclusion proof) and the verdict says so.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from anchoring.errors import InvalidProof
from anchoring.merkle import leaf_hash, verify_inclusion
from license_registry.city_code import decode_city_code, verify_city_code
from license_registry.data_integrity import verify_proof
from license_registry.errors import FormatError
from license_registry.jcs import canonicalize
from license_registry.presented import (
    PresentedLicense,
    presented_from_claims,
    presented_from_credential,
)
from license_registry.trust import (
    ALG_ED25519,
    REASON_KEY_COMPROMISE,
    TrustedKey,
    TrustSnapshot,
)

CHECKS = ("format", "signature", "trusted_key", "accreditation", "validity", "revocation",
          "suspension", "recognition", "anchoring")
Outcome = Literal["pass", "fail", "skipped"]
CLOCK_SKEW = 300  # seconds a code's issue time may lie ahead of the verifier's clock


@dataclass(frozen=True)
class Check:
    name: str
    outcome: Outcome
    reason: str | None = None
    detail: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "outcome": self.outcome, "reason": self.reason,
                "detail": self.detail}


@dataclass(frozen=True)
class AnchorEvidence:
    """Where the credential's hash sits in its issuer's log, proven against a size."""

    origin: str
    log_id: bytes
    index: int
    size: int
    proof: tuple[bytes, ...]
    credential_hash: bytes

    def to_json(self) -> dict[str, Any]:
        return {"origin": self.origin, "logId": self.log_id.hex(), "index": self.index,
                "size": self.size, "proof": [p.hex() for p in self.proof],
                "credentialHash": self.credential_hash.hex()}


class StatusSource(Protocol):
    def status(self, issuer: str, list_number: int, index: int) -> Mapping[str, bool] | None:
        """{"revocation": bit, "suspension": bit}, or None if the list is unknown."""


class AnchorSource(Protocol):
    def evidence(self, presented: PresentedLicense, credential_hash: bytes | None,
                 anchored_size: int | None) -> AnchorEvidence | None:
        """The inclusion evidence against ``anchored_size``; None if not in the log."""

    def log_id(self, issuer: str) -> bytes: ...


@dataclass(frozen=True)
class Verdict:
    checks: tuple[Check, ...]
    license: PresentedLicense | None
    trust_block: int
    trust_time: int
    mode: Literal["online", "offline"]
    anchor: AnchorEvidence | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return all(c.outcome != "fail" for c in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [c.reason for c in self.checks if c.outcome == "fail" and c.reason]

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        lic = self.license
        return {
            "verdict": "valid" if self.valid else "invalid", "mode": self.mode,
            "reasons": self.reasons, "checks": [c.to_json() for c in self.checks],
            "license": None if lic is None else {
                "id": lic.credential_id, "issuer": lic.issuer, "licenseType": lic.license_type,
                "licenseNumber": lic.license_number, "holder": lic.holder_display,
                "issuedAt": lic.issued_at, "validFrom": lic.valid_from,
                "validUntil": lic.valid_until, "subject": dict(lic.subject)},
            "trustData": {"block": self.trust_block, "blockTime": self.trust_time},
            "anchor": None if self.anchor is None else self.anchor.to_json(),
            **self.extra,
        }


_NOT_REACHED = "not reached: an earlier check failed"
# A Check is immutable, so the common ones are made once and shared between verdicts.
_UNREACHED = {name: Check(name, "skipped", None, _NOT_REACHED) for name in CHECKS}
_PLAIN_PASSES = {name: Check(name, "pass", None, "") for name in CHECKS}
# Passes whose detail recurs (a key and its department, a recognition) are shared too;
# the anchoring detail names the latest anchor, so it is made each time.
_SHARED_DETAILS = frozenset({"format", "signature", "trusted_key", "recognition"})
_PASSES: dict[tuple[str, str], Check] = {}
_MAX_SHARED_PASSES = 4096


def _pass(name: str, detail: str) -> Check:
    if name not in _SHARED_DETAILS:
        return Check(name, "pass", None, detail)
    check = _PASSES.get((name, detail))
    if check is None:
        check = Check(name, "pass", None, detail)
        if len(_PASSES) < _MAX_SHARED_PASSES:
            _PASSES[(name, detail)] = check
    return check


class _Run:
    __slots__ = ("checks",)

    def __init__(self) -> None:
        self.checks: dict[str, Check] = {}

    def passed(self, name: str, detail: str = "") -> None:
        self.checks[name] = _PLAIN_PASSES[name] if not detail else _pass(name, detail)

    def failed(self, name: str, reason: str, detail: str) -> None:
        self.checks[name] = Check(name, "fail", reason, detail)

    def skipped(self, name: str, detail: str) -> None:
        self.checks[name] = Check(name, "skipped", None, detail)

    def result(self) -> tuple[Check, ...]:
        checks = self.checks
        return tuple(checks.get(name) or _UNREACHED[name] for name in CHECKS)


def _key_check(run: _Run, key: TrustedKey, issued_at: int, now: int) -> None:
    if issued_at > now + CLOCK_SKEW:
        run.failed("trusted_key", "issued_in_future",
                   f"issued at {issued_at}, after the verifier's clock {now}")
    elif key.revoked_at is not None and issued_at >= key.revoked_at:
        reason = "key_compromised" if key.revocation_reason == REASON_KEY_COMPROMISE else "key_revoked"
        run.failed("trusted_key", reason,
                   f"key {key.kid.hex()} was revoked from {key.revoked_at}; issued at {issued_at}")
    elif not key.valid_from <= issued_at < key.valid_until:
        run.failed("trusted_key", "key_not_valid_at_issue",
                   f"key {key.kid.hex()} is valid {key.valid_from}-{key.valid_until}; "
                   f"issued at {issued_at}")
    else:
        run.passed("trusted_key", f"key {key.kid.hex()} of {key.department}")


def _policy_checks(run: _Run, lic: PresentedLicense, snapshot: TrustSnapshot, now: int,
                   verifier: str | None, status: StatusSource) -> None:
    if snapshot.is_accredited(lic.issuer, lic.license_type):
        run.passed("accreditation")
    else:
        run.failed("accreditation", "issuer_not_accredited",
                   f"{lic.issuer} is not accredited to issue {lic.license_type}")
    if now < lic.valid_from:
        run.failed("validity", "not_yet_valid", f"valid from {lic.valid_from}")
    elif now >= lic.valid_until:
        run.failed("validity", "expired", f"expired at {lic.valid_until}")
    else:
        run.passed("validity")
    bits = status.status(lic.issuer, lic.status_list_number, lic.status_index)
    for purpose, reason in (("revocation", "revoked"), ("suspension", "suspended")):
        if bits is None:
            run.failed(purpose, "status_unavailable",
                       f"status list {lic.status_list_number} of {lic.issuer} is not available")
        elif bits[purpose]:
            run.failed(purpose, reason, f"list {lic.status_list_number} index {lic.status_index}")
        else:
            run.passed(purpose)
    if verifier is None:
        run.skipped("recognition", "no verifier department given")
    elif snapshot.is_recognized(verifier, lic.issuer, lic.license_type, now):
        run.passed("recognition", f"{verifier} recognizes {lic.issuer} {lic.license_type}")
    else:
        run.failed("recognition", "not_recognized",
                   f"{verifier} does not recognize {lic.license_type} issued by {lic.issuer}")


_OFFLINE_ANCHORING = Check("anchoring", "skipped", None, "offline: checked online only")


def _anchor_check(run: _Run, lic: PresentedLicense, snapshot: TrustSnapshot,
                  anchors: AnchorSource | None, credential_hash: bytes | None) -> AnchorEvidence | None:
    if anchors is None:
        run.checks["anchoring"] = _OFFLINE_ANCHORING
        return None
    anchored = snapshot.checkpoints.get(anchors.log_id(lic.issuer))
    evidence = anchors.evidence(lic, credential_hash, None if anchored is None else anchored.size)
    if evidence is None:
        run.failed("anchoring", "not_anchored", "the credential is not in its issuer's log")
        return None
    if anchored is None or evidence.index >= anchored.size:
        run.failed("anchoring", "anchor_pending",
                   "in the issuer's log; the checkpoint covering it is not anchored yet")
        return evidence
    try:
        verify_inclusion(leaf_hash(evidence.credential_hash), evidence.index, anchored.size,
                         evidence.proof, anchored.root)
    except InvalidProof as exc:
        run.failed("anchoring", "bad_proof", str(exc))
        return evidence
    run.passed("anchoring", f"in checkpoint of size {anchored.size} anchored in block "
                            f"{anchored.block_number}")
    return evidence


def verify_presentation(presentation: str | Mapping[str, Any], snapshot: TrustSnapshot,
                        now: int, *, verifier: str | None, status: StatusSource,
                        anchors: AnchorSource | None) -> Verdict:
    """Verify a city code (``CC1:…``) or a full credential (a JSON object)."""
    run = _Run()
    mode: Literal["online", "offline"] = "offline" if anchors is None else "online"
    lic: PresentedLicense | None = None
    credential_hash: bytes | None = None
    try:
        if isinstance(presentation, str):
            decoded = decode_city_code(presentation)
            lic = presented_from_claims(decoded.claims, decoded.kid)
        else:
            lic = presented_from_credential(presentation)
            credential_hash = hashlib.sha256(canonicalize(presentation)).digest()
    except FormatError as exc:
        run.failed("format", exc.code, exc.message)
        return Verdict(run.result(), None, snapshot.block_number, snapshot.block_time, mode)
    run.passed("format", "city code" if isinstance(presentation, str) else "credential")
    candidates = [k for k in snapshot.keys_with_kid(lic.kid or b"")
                  if k.department == lic.issuer and k.algorithm == ALG_ED25519]
    if not candidates:
        run.failed("trusted_key", "unknown_key",
                   f"no key {(lic.kid or b'').hex()} of {lic.issuer} on the trust list")
        return Verdict(run.result(), lic, snapshot.block_number, snapshot.block_time, mode)
    signer = None
    for key in candidates:  # kids can collide: try every key with this kid
        try:
            if isinstance(presentation, str):
                good = verify_city_code(decoded, key.public_key)
            else:
                good = verify_proof(presentation, key.public_key, lic.verification_method)
        except FormatError as exc:
            run.failed("format", exc.code, exc.message)
            return Verdict(run.result(), lic, snapshot.block_number, snapshot.block_time, mode)
        if good:
            signer = key
            break
    if signer is None:
        run.failed("signature", "signature_invalid", "no listed key of the issuer verifies it")
        return Verdict(run.result(), lic, snapshot.block_number, snapshot.block_time, mode)
    run.passed("signature", "EdDSA (Ed25519)")
    _key_check(run, signer, lic.issued_at, now)
    _policy_checks(run, lic, snapshot, now, verifier, status)
    evidence = _anchor_check(run, lic, snapshot, anchors, credential_hash)
    return Verdict(run.result(), lic, snapshot.block_number, snapshot.block_time, mode, evidence)
