"""The verdict rules, table-driven: one valid world, and each case changes one thing.

Online-only parts (anchoring) run with a fake anchor source; status comes from a dict.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping
from typing import Any

import pytest

from anchoring.merkle import build_inclusion_proof, leaf_hash, root_from_leaf_hashes
from license_registry.city_code import decode_city_code
from license_registry.jcs import canonicalize
from license_registry.presented import PresentedLicense
from license_registry.trust import REASON_KEY_COMPROMISE, AnchoredCheckpoint, TrustedKey
from license_registry.verification import CHECKS, AnchorEvidence, verify_presentation
from tests.license_registry.test_trust_bundle import (
    DAY,
    ISSUER,
    ISSUER_KID,
    NOW,
    ORIGIN,
    STRANGER,
    VERIFIER,
    make_city_code,
    make_credential,
    make_snapshot,
)

LOG_ID = hashlib.sha256(ORIGIN.encode()).digest()


class Status:
    def __init__(self, bits: Mapping[str, bool] | None = None, *, unknown: bool = False) -> None:
        self.bits = None if unknown else (bits or {"revocation": False, "suspension": False})

    def status(self, issuer: str, list_number: int, index: int) -> Mapping[str, bool] | None:
        return self.bits


class Anchors:
    """A log of 5 entries holding the credential at index 3, anchored at ``size``."""

    def __init__(self, credential_hash: bytes, *, logged: bool = True, tamper: bool = False):
        self.entries = [b"a", b"b", b"c", credential_hash, b"e"]
        self.logged = logged
        self.tamper = tamper

    def log_id(self, issuer: str) -> bytes:
        return LOG_ID

    def root(self, size: int) -> bytes:
        return root_from_leaf_hashes([leaf_hash(e) for e in self.entries[:size]])

    def evidence(self, presented: PresentedLicense, credential_hash: bytes | None,
                 anchored_size: int | None) -> AnchorEvidence | None:
        if not self.logged:
            return None
        size = anchored_size or 0
        proof = (build_inclusion_proof(3, [leaf_hash(e) for e in self.entries[:size]])
                 if size > 3 else [])
        if self.tamper and proof:
            proof[0] = bytes(32)
        return AnchorEvidence(ORIGIN, LOG_ID, 3, size, tuple(proof), self.entries[3])


def code_hash() -> bytes:
    return hashlib.sha256(canonicalize(make_credential())).digest()


def anchored(anchors: Anchors, size: int) -> dict[bytes, AnchoredCheckpoint]:
    return {LOG_ID: AnchoredCheckpoint(LOG_ID, size, anchors.root(size), 1200, NOW - 60)}


def reasons(presentation: Any = None, *, snapshot: Any = None, now: int = NOW,
            verifier: str | None = ISSUER, status: Status | None = None,
            anchors: Anchors | None = None) -> list[str]:
    verdict = verify_presentation(
        make_city_code() if presentation is None else presentation,
        make_snapshot() if snapshot is None else snapshot, now, verifier=verifier,
        status=status or Status(), anchors=anchors)
    assert [c.name for c in verdict.checks] == list(CHECKS)
    assert verdict.valid == (not verdict.reasons)
    return verdict.reasons


def _key(**changes: Any) -> tuple[TrustedKey, ...]:
    key = make_snapshot().key(ISSUER, ISSUER_KID)
    assert key is not None
    return (dataclasses.replace(key, **changes),)


CASES = [
    ("valid", {}, []),
    ("unknown key", {"snapshot": make_snapshot(keys=())}, ["unknown_key"]),
    ("key of another department with the same kid",
     {"snapshot": make_snapshot(keys=tuple(dataclasses.replace(k, department=STRANGER)
                                           for k in make_snapshot().keys))}, ["unknown_key"]),
    ("wrong public key under the kid", {"snapshot": make_snapshot(keys=_key(public_key=bytes(32)))},
     ["signature_invalid"]),
    ("key compromised before issue",
     {"snapshot": make_snapshot(keys=_key(revoked_at=NOW - 3 * DAY,
                                          revocation_reason=REASON_KEY_COMPROMISE))},
     ["key_compromised"]),
    ("key compromised after issue",
     {"snapshot": make_snapshot(keys=_key(revoked_at=NOW - DAY,
                                          revocation_reason=REASON_KEY_COMPROMISE))}, []),
    ("key retired before issue",
     {"snapshot": make_snapshot(keys=_key(revoked_at=NOW - 3 * DAY, revocation_reason=4))},
     ["key_revoked"]),
    ("key not yet valid at issue", {"snapshot": make_snapshot(keys=_key(valid_from=NOW - DAY))},
     ["key_not_valid_at_issue"]),
    ("key expired since issue is fine",
     {"snapshot": make_snapshot(keys=_key(valid_until=NOW - DAY))}, []),
    ("not accredited", {"snapshot": make_snapshot(accreditations=frozenset())},
     ["issuer_not_accredited"]),
    ("expired", {"now": NOW + 6 * 365 * DAY}, ["expired"]),
    ("not yet valid", {"now": NOW - 31 * DAY}, ["issued_in_future", "not_yet_valid"]),
    ("revoked", {"status": Status({"revocation": True, "suspension": False})}, ["revoked"]),
    ("suspended", {"status": Status({"revocation": False, "suspension": True})}, ["suspended"]),
    ("status unavailable", {"status": Status(unknown=True)}, ["status_unavailable"] * 2),
    ("recognized by another department", {"verifier": VERIFIER}, []),
    ("not recognized", {"verifier": STRANGER}, ["not_recognized"]),
]


@pytest.mark.parametrize(("case", "changes", "expected"), CASES, ids=[c[0] for c in CASES])
def test_each_rule_fails_with_its_reason(case: str, changes: dict[str, Any],
                                         expected: list[str]) -> None:
    if "issued_in_future" in expected:
        # 31 days before NOW the code's issue time (NOW - 2 days) lies in the future.
        assert reasons(**changes)[:1] == ["issued_in_future"]
        return
    assert reasons(**changes) == expected
    assert reasons(make_credential(), **changes) == expected  # the full form agrees


def test_a_skipped_recognition_does_not_fail() -> None:
    verdict = verify_presentation(make_city_code(), make_snapshot(), NOW, verifier=None,
                                  status=Status(), anchors=None)
    assert verdict.valid and verdict.check("recognition").outcome == "skipped"
    assert verdict.check("anchoring").outcome == "skipped"


@pytest.mark.parametrize(("anchors", "size", "expected"), [
    (lambda h: Anchors(h), 5, []),
    (lambda h: Anchors(h), 3, ["anchor_pending"]),
    (lambda h: Anchors(h, logged=False), 5, ["not_anchored"]),
    (lambda h: Anchors(h, tamper=True), 5, ["bad_proof"]),
])
def test_anchoring_evidence(anchors: Any, size: int, expected: list[str]) -> None:
    source = anchors(code_hash())
    snapshot = make_snapshot(checkpoints=anchored(source, size))
    assert reasons(make_credential(), snapshot=snapshot, anchors=source) == expected


def test_a_changed_credential_field_breaks_the_signature() -> None:
    credential = make_credential()
    credential["credentialSubject"]["licenseNumber"] = "FZ-2024-999999"
    assert reasons(credential) == ["signature_invalid"]


def test_malformed_input_fails_the_format_check_only() -> None:
    verdict = verify_presentation("CC1:NOT BASE45!", make_snapshot(), NOW, verifier=ISSUER,
                                  status=Status(), anchors=None)
    assert verdict.reasons == ["bad_base45"]
    assert [c.outcome for c in verdict.checks].count("skipped") == len(CHECKS) - 1
    assert decode_city_code(make_city_code()).kid == ISSUER_KID
