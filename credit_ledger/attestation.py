"""The bank's answer to a consented credit query: a short-lived credit attestation.

A W3C VC 2.0 ``CreditAttestation`` signed by the platform key (eddsa-jcs-2022). It
carries a summary of the enterprise's current records within the consented scopes,
never the records themselves, and the evidence it rests on: each record's RFC 9162
leaf hash with its inclusion proof, the credit log's signed C2SP checkpoint, and the
block that anchored that checkpoint. It lives hours or days (at most
``MAX_VALID_FOR``), and its ``termsOfUse`` name the recipient bank, the purpose and the
consent, and forbid redistribution.

The evidence lists leaf hashes, not SHA-256 of the entries: the log's tree holds
SHA-256(0x00 ‖ entry), and only that can be proven offline without the entry. A
holder of a record recomputes its leaf hash with ``records.record_leaf_hash``.

``verify_attestation`` checks all this offline, each failure with a stable reason.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from anchoring.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from anchoring.errors import AnchoringError, InvalidProof
from anchoring.merkle import verify_inclusion
from anchoring.note import Verifier, parse_note
from credit_ledger.attestation_format import (
    ATTESTATION_CONTEXT,
    ATTESTATION_TYPES,
    EVIDENCE_TYPE,
    LATEST_GRADE_KEYS,
    MALFORMED,
    MAX_VALID_FOR,
    METHOD,
    TERMS_STATEMENT,
    TERMS_TYPE,
    AttestationFacts,
    read_attestation,
)
from credit_ledger.consent import DID_PREFIX, validate_purpose, validate_scopes
from credit_ledger.record_types import OPEN_PENALTY, PENALTY
from credit_ledger.records import CreditRecord, find_successors, record_leaf_hash
from license_registry.data_integrity import create_proof, verify_proof
from license_registry.errors import FormatError, InvalidInput
from license_registry.identifiers import validate_usci
from license_registry.license_types import validate_unix_time
from license_registry.presented import UUID_URN, VC_CONTEXT, datetime_text
from license_registry.verification import CLOCK_SKEW, Check

InclusionProof = tuple[int, Sequence[bytes]]  # (leaf index, audit path)


def calculate_summary(records: Sequence[CreditRecord], scopes: Sequence[str]) -> dict[str, Any]:
    """Counts per type within ``scopes``, latest rating/tax grade and open penalties if in
    scope. Types out of scope are left out altogether, not shown as zero."""
    summary: dict[str, Any] = {
        "recordCounts": {code: sum(r.record_type == code for r in records) for code in scopes},
    }
    for code, key in LATEST_GRADE_KEYS.items():
        if code in scopes:
            graded = [r for r in records if r.record_type == code]
            latest = max(graded, key=lambda r: (r.effective_date, r.recorded_at, r.record_id),
                         default=None)
            summary[key] = None if latest is None else {
                "grade": latest.content["grade"], "effectiveDate": latest.effective_date,
                "recordId": latest.record_id}
    if PENALTY in scopes:
        summary["openPenalties"] = sum(r.record_type == PENALTY
                                       and r.content.get("status") == OPEN_PENALTY
                                       for r in records)
    return summary


def read_checkpoint_note(note: bytes, field: str = "checkpointNote") -> Checkpoint:
    """The checkpoint in a signed note, signatures NOT verified (InvalidInput if malformed)."""
    try:
        return parse_checkpoint_body(parse_note(note).text)
    except AnchoringError as error:
        raise InvalidInput(f"{field} is not a signed C2SP checkpoint: {error}",
                           field=field) from None


def _validate_records(records: Sequence[CreditRecord], subject: str,
                      scopes: Sequence[str]) -> None:
    if not all(isinstance(record, CreditRecord) for record in records):
        raise InvalidInput("records must be CreditRecord values", field="records")
    ids = [r.record_id for r in records]
    if len(set(ids)) != len(ids):
        raise InvalidInput("a record is listed twice", field="records")
    for record in records:
        if record.subject != subject:
            raise InvalidInput(f"record {record.record_id} is about {record.subject}, not the "
                               f"subject {subject}", field="records")
        if record.record_type not in scopes:
            raise InvalidInput(f"record {record.record_id} is {record.record_type}, outside "
                               f"the consented scopes", field="records")
    superseded = sorted(set(find_successors(records)) & set(ids))
    if superseded:  # an attestation rests on current records only
        raise InvalidInput(f"record {superseded[0]} is superseded by another record listed",
                           field="records")


def _build_evidence_records(records: Sequence[CreditRecord],
                            proofs: Mapping[str, InclusionProof],
                            checkpoint: Checkpoint) -> list[dict[str, Any]]:
    """Each record's leaf hash and proof, checked against the checkpoint before we sign."""
    extra = sorted(set(proofs) - {r.record_id for r in records})
    if extra:
        raise InvalidInput(f"a proof is given for {extra[0]}, which is not listed",
                           field="proofs")
    items = []
    for record in records:
        if record.record_id not in proofs:
            raise InvalidInput(f"no inclusion proof for record {record.record_id}",
                               field="proofs")
        index, hashes = proofs[record.record_id]
        if not isinstance(index, int) or isinstance(index, bool) \
                or not all(isinstance(h, bytes) for h in hashes):
            raise InvalidInput(f"the proof for record {record.record_id} must be (leaf index, "
                               "[32-byte hashes])", field="proofs")
        leaf = record_leaf_hash(record)
        try:
            verify_inclusion(leaf, index, checkpoint.size, list(hashes), checkpoint.root)
        except InvalidProof as error:
            raise InvalidInput(f"the proof for record {record.record_id} does not verify "
                               f"against the checkpoint: {error}", field="proofs") from None
        items.append({"recordId": record.record_id, "recordType": record.record_type,
                      "leafHash": leaf.hex(), "leafIndex": index,
                      "inclusionProof": [h.hex() for h in hashes]})
    return sorted(items, key=lambda item: item["leafIndex"])


def _validate_anchor(anchored: Mapping[str, Any], checkpoint: Checkpoint,
                     as_of_block: int) -> dict[str, Any]:
    size, root, block = (anchored.get(k) for k in ("size", "root", "block_number"))
    if size != checkpoint.size or root != checkpoint.root.hex():
        raise InvalidInput("anchored size and root must be those of the checkpoint given: the "
                           "evidence rests on the anchored tree", field="anchored")
    if not isinstance(block, int) or isinstance(block, bool) or not 0 <= block <= as_of_block:
        raise InvalidInput(f"anchored block_number must be an integer 0-{as_of_block} (the "
                           "as-of block)", field="anchored")
    return {"treeSize": size, "rootHash": root, "blockNumber": block}


def build_attestation(*, attestation_id: str, consent_id: str, consent_digest: bytes,
                      bank: str, subject: str, purpose: str, scopes: Sequence[str],
                      records: Sequence[CreditRecord], proofs: Mapping[str, InclusionProof],
                      checkpoint_note: bytes, anchored: Mapping[str, Any], as_of_block: int,
                      issued_at: int, valid_for: int, platform_seed: bytes,
                      verification_method: str) -> dict[str, Any]:
    """The signed attestation; InvalidInput naming the argument at fault.

    ``records`` are the subject's current records within ``scopes``; ``proofs`` maps each
    record id to (leaf index, inclusion proof) in the tree of ``checkpoint_note``, which
    is the checkpoint ``anchored`` (``{"size", "root" (hex), "block_number"}``) records on
    chain. Every proof is checked here: the platform never signs evidence that fails.
    """
    for name, value in (("attestationId", attestation_id), ("consentId", consent_id)):
        if not isinstance(value, str) or not UUID_URN.fullmatch(value):
            raise InvalidInput(f"{name} must be urn:uuid: and a lowercase UUID", field=name)
    if not isinstance(consent_digest, bytes) or len(consent_digest) != 32:
        raise InvalidInput("consent_digest must be the 32-byte SHA-256 of the signed consent",
                           field="consentDigest")
    bank_usci, subject_usci = validate_usci(bank, "bank"), validate_usci(subject, "subject")
    scope_codes = validate_scopes(scopes)
    _validate_records(records, subject_usci, scope_codes)
    checkpoint = read_checkpoint_note(checkpoint_note)
    if not isinstance(as_of_block, int) or isinstance(as_of_block, bool) or as_of_block < 0:
        raise InvalidInput("as_of_block must be a block number", field="asOfBlock")
    anchor = _validate_anchor(anchored, checkpoint, as_of_block)
    evidence_records = _build_evidence_records(records, proofs, checkpoint)
    issued = validate_unix_time(issued_at, "issuedAt")
    if not isinstance(valid_for, int) or isinstance(valid_for, bool) \
            or not 0 < valid_for <= MAX_VALID_FOR:
        raise InvalidInput(f"valid_for must be 1-{MAX_VALID_FOR} seconds (at most 7 days): "
                           "an attestation is a snapshot, not a standing credential",
                           field="validFor")
    match = METHOD.fullmatch(verification_method) if isinstance(verification_method,
                                                                str) else None
    if match is None:
        raise InvalidInput("verification_method must be <issuer DID>#<key id>",
                           field="verificationMethod")
    document = {
        "@context": [VC_CONTEXT, ATTESTATION_CONTEXT],
        "id": attestation_id,
        "type": list(ATTESTATION_TYPES),
        "issuer": match.group(1),
        "validFrom": datetime_text(issued),
        "validUntil": datetime_text(validate_unix_time(issued + valid_for, "validUntil")),
        "credentialSubject": {
            "id": DID_PREFIX + subject_usci,
            "summary": calculate_summary(records, scope_codes),
        },
        "evidence": [{
            "type": [EVIDENCE_TYPE],
            "checkpoint": checkpoint_note.decode("utf-8"),
            "anchor": anchor,
            "asOfBlock": as_of_block,
            "records": evidence_records,
        }],
        "termsOfUse": [{
            "type": TERMS_TYPE,
            "recipient": bank_usci,
            "purpose": validate_purpose(purpose),
            "scopes": list(scope_codes),
            "consentId": consent_id,
            "consentDigest": consent_digest.hex(),
            "redistribution": "prohibited",
            "statement": TERMS_STATEMENT,
        }],
    }
    return create_proof(document, platform_seed, verification_method, datetime_text(issued))


# Verification: every check with its outcome, and a stable reason when it fails
# (MALFORMED, from the reader, for the format check).
CHECKS = ("format", "signature", "validity", "checkpoint", "inclusion", "anchoring")
SIGNATURE_INVALID = "signature_invalid"
NOT_YET_VALID = "not_yet_valid"
EXPIRED = "expired"
CHECKPOINT_INVALID = "checkpoint_invalid"
BAD_PROOF = "bad_proof"
NOT_ANCHORED = "not_anchored"


@dataclass(frozen=True)
class AttestationVerdict:
    checks: tuple[Check, ...]
    facts: AttestationFacts | None

    @property
    def valid(self) -> bool:
        return all(c.outcome != "fail" for c in self.checks)

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(c.reason for c in self.checks if c.outcome == "fail" and c.reason)

    def check(self, name: str) -> Check:
        return next(c for c in self.checks if c.name == name)

    def to_json(self) -> dict[str, Any]:
        return {"verdict": "valid" if self.valid else "invalid", "reasons": list(self.reasons),
                "checks": [c.to_json() for c in self.checks]}


def verify_attestation(att: Mapping[str, Any], platform_public_key: bytes,
                       log_public_verifier: Verifier, now: int, *,
                       anchored_root_lookup: Callable[[int], bytes | None] | None = None,
                       ) -> AttestationVerdict:
    """Check an attestation offline: signature, window, checkpoint, proofs, anchor.

    ``log_public_verifier`` is the credit log's note key; ``anchored_root_lookup(size)``
    returns the root the chain anchored for that tree size (None: nothing anchored). Without
    it the anchoring check is ``skipped``. After the format check every check runs even if
    another failed, so the verdict shows all that is wrong (was the evidence altered too?).
    """
    results: dict[str, Check] = {}

    def fail(name: str, reason: str, detail: str) -> None:
        results[name] = Check(name, "fail", reason, detail)

    def verdict(facts: AttestationFacts | None) -> AttestationVerdict:
        return AttestationVerdict(tuple(results.get(n, Check(
            n, "skipped", None, "not reached: an earlier check failed")) for n in CHECKS), facts)

    try:
        facts = read_attestation(att)
    except FormatError as error:
        fail("format", MALFORMED, error.message)
        return verdict(None)
    results["format"] = Check("format", "pass")
    now = validate_unix_time(now, "now")
    if not verify_proof(att, platform_public_key):
        fail("signature", SIGNATURE_INVALID, "the platform key does not verify the proof")
    else:
        results["signature"] = Check("signature", "pass", None, "eddsa-jcs-2022")
    if now + CLOCK_SKEW < facts.valid_from:
        fail("validity", NOT_YET_VALID, f"valid from {datetime_text(facts.valid_from)}")
    elif now >= facts.valid_until:
        fail("validity", EXPIRED, f"expired at {datetime_text(facts.valid_until)}")
    else:
        results["validity"] = Check("validity", "pass")
    try:
        checkpoint, _, _ = open_checkpoint(facts.checkpoint_note, [log_public_verifier])
    except AnchoringError as error:
        fail("checkpoint", CHECKPOINT_INVALID, f"not a checkpoint signed by the credit log "
                                               f"key {log_public_verifier.name}: {error}")
        return verdict(facts)
    results["checkpoint"] = Check("checkpoint", "pass", None,
                                  f"{checkpoint.origin} size {checkpoint.size}")
    _check_inclusion(results, facts, checkpoint)
    _check_anchor(results, facts, checkpoint, anchored_root_lookup)
    return verdict(facts)


def _check_inclusion(results: dict[str, Check], facts: AttestationFacts,
                     checkpoint: Checkpoint) -> None:
    for item in facts.records:
        try:
            verify_inclusion(item.leaf_hash, item.leaf_index, checkpoint.size, item.proof,
                             checkpoint.root)
        except InvalidProof as error:
            results["inclusion"] = Check("inclusion", "fail", BAD_PROOF,
                                         f"record {item.record_id}: {error}")
            return
    results["inclusion"] = Check("inclusion", "pass", None,
                                 f"{len(facts.records)} records in the checkpoint's tree")


def _check_anchor(results: dict[str, Check], facts: AttestationFacts, checkpoint: Checkpoint,
                  lookup: Callable[[int], bytes | None] | None) -> None:
    size, root, block = facts.anchor
    if (size, root) != (checkpoint.size, checkpoint.root):
        results["anchoring"] = Check("anchoring", "fail", NOT_ANCHORED,
                                     "the anchor named is of another tree than the checkpoint")
        return
    if lookup is None:
        results["anchoring"] = Check("anchoring", "skipped", None,
                                     f"anchored in block {block} as stated; not looked up")
        return
    anchored = lookup(size)
    if anchored != root:
        detail = ("no root is anchored for size" if anchored is None
                  else "the chain anchored another root for size")
        results["anchoring"] = Check("anchoring", "fail", NOT_ANCHORED, f"{detail} {size}")
        return
    results["anchoring"] = Check("anchoring", "pass", None, f"size {size} anchored")
