"""The credit attestation document: its fixed shape, and a strict reader for it.

``attestation.build_attestation`` writes this shape and ``attestation.verify_attestation``
reads it back with ``read_attestation``. Strict because an attestation arrives from a
bank or anyone it passed through: every key is required, no key is unknown (a field we
did not read might restrict the use), and the summary must agree with the evidence it
claims to rest on.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, TypeVar

from credit_ledger.consent import DID_PREFIX, validate_purpose, validate_scopes
from credit_ledger.record_types import PENALTY, RATING, TAX_GRADE, get_record_type
from license_registry.data_integrity import proof_of
from license_registry.errors import FormatError, LicenseError
from license_registry.identifiers import validate_usci
from license_registry.license_types import DAY, is_date_text
from license_registry.presented import UUID_URN, VC_CONTEXT, parse_datetime_text

ATTESTATION_CONTEXT = "https://citychain.example/contexts/credit-attestation/v1"
ATTESTATION_TYPES = ["VerifiableCredential", "CreditAttestation"]
EVIDENCE_TYPE = "CreditLogEvidence"
TERMS_TYPE = "CreditQueryTerms"
TERMS_STATEMENT = ("Issued to the recipient for the stated purpose under the stated consent "
                   "only; redistribution or disclosure to third parties is prohibited.")
MAX_VALID_FOR = 7 * DAY
MAX_PROOF_LENGTH = 63  # a tree of at most 2^63 leaves, as checkpoints allow
METHOD = re.compile(r"([^#\s]+)#[^#\s]+")
# The summary's latest-grade entries: record type -> summary key.
LATEST_GRADE_KEYS = {RATING: "latestCreditRating", TAX_GRADE: "latestTaxGrade"}
T = TypeVar("T")
MALFORMED = "malformed"  # the verdict's reason when this reader refuses a document
ATTESTATION_KEYS = {"@context", "id", "type", "issuer", "validFrom", "validUntil",
                    "credentialSubject", "evidence", "termsOfUse", "proof"}
HASH_HEX = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class EvidenceRecord:
    record_id: str
    record_type: str
    leaf_hash: bytes
    leaf_index: int
    proof: tuple[bytes, ...]


@dataclass(frozen=True)
class AttestationFacts:
    """What a verified attestation says, for the bank to act on."""

    attestation_id: str
    subject: str
    recipient: str
    purpose: str
    scopes: tuple[str, ...]
    consent_id: str
    valid_from: int
    valid_until: int
    as_of_block: int
    summary: Mapping[str, Any] = field(hash=False)
    checkpoint_note: bytes = field(repr=False)
    anchor: tuple[int, bytes, int]  # tree size, root, block number as the attestation states
    records: tuple[EvidenceRecord, ...]


def _fail(field_name: str, message: str) -> NoReturn:
    raise FormatError(f"attestation field {field_name}: {message}", field=field_name,
                      code=MALFORMED)


def _object(value: object, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        _fail(where, "must be a JSON object")
    missing = sorted(keys - set(value))
    if missing:
        _fail(_join(where, missing[0]), "is missing")
    unknown = sorted(str(key) for key in value if key not in keys)
    if unknown:  # refused, not ignored: an unread field could restrict the use
        _fail(_join(where, unknown[0]), "is not a field of a credit attestation")
    return value


def _join(where: str, key: str) -> str:
    return key if where == "attestation" else f"{where}.{key}"


def _one(value: object, where: str, keys: set[str]) -> dict[str, Any]:
    if not isinstance(value, list) or len(value) != 1:
        _fail(where, "must be a list of one object")
    return _object(value[0], f"{where}[0]", keys)


def _integer(value: object, where: str, maximum: int = 2**53 - 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= maximum:
        _fail(where, f"must be an integer 0-{maximum}")
    return value


def _hash(value: object, where: str) -> bytes:
    if not isinstance(value, str) or not HASH_HEX.fullmatch(value):
        _fail(where, "must be 64 lowercase hex digits")
    return bytes.fromhex(value)


def _convert(where: str, check: Callable[[], T]) -> T:
    try:
        return check()
    except LicenseError as error:
        _fail(where, error.message)


def _read_evidence_records(value: object, scopes: tuple[str, ...]) -> tuple[EvidenceRecord, ...]:
    if not isinstance(value, list):
        _fail("evidence[0].records", "must be a list")
    items = []
    for n, raw in enumerate(value):
        where = f"evidence[0].records[{n}]"
        item = _object(raw, where, {"recordId", "recordType", "leafHash", "leafIndex",
                                    "inclusionProof"})
        if not isinstance(item["recordId"], str) or not UUID_URN.fullmatch(item["recordId"]):
            _fail(f"{where}.recordId", "must be urn:uuid: and a lowercase UUID")
        if item["recordType"] not in scopes:
            _fail(f"{where}.recordType", "must be one of the scopes in termsOfUse")
        proof = item["inclusionProof"]
        if not isinstance(proof, list) or len(proof) > MAX_PROOF_LENGTH:
            _fail(f"{where}.inclusionProof", f"must be a list of at most {MAX_PROOF_LENGTH} hashes")
        items.append(EvidenceRecord(
            item["recordId"], item["recordType"], _hash(item["leafHash"], f"{where}.leafHash"),
            _integer(item["leafIndex"], f"{where}.leafIndex"),
            tuple(_hash(h, f"{where}.inclusionProof[{i}]") for i, h in enumerate(proof))))
    if len({item.record_id for item in items}) != len(items):
        _fail("evidence[0].records", "lists a record twice")
    return tuple(items)


def _validate_summary(summary: object, scopes: tuple[str, ...],
                      records: tuple[EvidenceRecord, ...]) -> dict[str, Any]:
    """The summary must agree with the evidence it claims to rest on."""
    keys = {"recordCounts", *(LATEST_GRADE_KEYS[c] for c in scopes if c in LATEST_GRADE_KEYS)}
    if PENALTY in scopes:
        keys.add("openPenalties")
    where = "credentialSubject.summary"
    checked = _object(summary, where, keys)
    counts = {code: sum(r.record_type == code for r in records) for code in scopes}
    if checked["recordCounts"] != counts:
        _fail(f"{where}.recordCounts", f"must count the evidence records per scope: {counts}")
    for code, key in LATEST_GRADE_KEYS.items():
        if key not in checked:
            continue
        latest = checked[key]
        if latest is None and counts[code] == 0:
            continue
        entry = _object(latest, f"{where}.{key}", {"grade", "effectiveDate", "recordId"})
        grades = next(f.choices for f in get_record_type(code).fields if f.name == "grade")
        if entry["grade"] not in grades or not is_date_text(entry["effectiveDate"]) \
                or not any(r.record_id == entry["recordId"] and r.record_type == code
                           for r in records):
            _fail(f"{where}.{key}", f"must name a grade ({', '.join(grades)}), a date and "
                                    f"a {code} record of the evidence")
    if "openPenalties" in checked:
        _integer(checked["openPenalties"], f"{where}.openPenalties", counts[PENALTY])
    return checked


def read_attestation(att: object) -> AttestationFacts:
    """Strictly read an attestation; FormatError ``malformed`` naming the field at fault."""
    doc = _object(att, "attestation", ATTESTATION_KEYS)
    if doc["@context"] != [VC_CONTEXT, ATTESTATION_CONTEXT]:
        _fail("@context", f"must be [{VC_CONTEXT!r}, {ATTESTATION_CONTEXT!r}]")
    if doc["type"] != ATTESTATION_TYPES:
        _fail("type", f"must be {ATTESTATION_TYPES}")
    if not isinstance(doc["id"], str) or not UUID_URN.fullmatch(doc["id"]):
        _fail("id", "must be urn:uuid: and a lowercase UUID")
    method = _convert("proof", lambda: proof_of(doc))["verificationMethod"]
    match = METHOD.fullmatch(method)
    if match is None or match.group(1) != doc["issuer"]:
        _fail("proof.verificationMethod", "must be a key of the issuer: <issuer>#<key id>")
    valid_from = _convert("validFrom", lambda: parse_datetime_text(doc["validFrom"]))
    valid_until = _convert("validUntil", lambda: parse_datetime_text(doc["validUntil"]))
    if not 0 < valid_until - valid_from <= MAX_VALID_FOR:
        _fail("validUntil", f"must be after validFrom by at most {MAX_VALID_FOR} s (7 days)")
    terms = _one(doc["termsOfUse"], "termsOfUse", {
        "type", "recipient", "purpose", "scopes", "consentId", "consentDigest",
        "redistribution", "statement"})
    if terms["type"] != TERMS_TYPE or terms["redistribution"] != "prohibited" \
            or terms["statement"] != TERMS_STATEMENT:
        _fail("termsOfUse[0]", f"must be {TERMS_TYPE} prohibiting redistribution")
    recipient = _convert("termsOfUse[0].recipient", lambda: validate_usci(terms["recipient"]))
    purpose = _convert("termsOfUse[0].purpose", lambda: validate_purpose(terms["purpose"]))
    scopes = _convert("termsOfUse[0].scopes", lambda: validate_scopes(terms["scopes"]))
    if list(scopes) != terms["scopes"]:
        _fail("termsOfUse[0].scopes", "must be in catalogue order")
    if not isinstance(terms["consentId"], str) or not UUID_URN.fullmatch(terms["consentId"]):
        _fail("termsOfUse[0].consentId", "must be urn:uuid: and a lowercase UUID")
    _hash(terms["consentDigest"], "termsOfUse[0].consentDigest")
    subject_part = _object(doc["credentialSubject"], "credentialSubject", {"id", "summary"})
    subject_id = subject_part["id"]
    if not isinstance(subject_id, str) or not subject_id.startswith(DID_PREFIX):
        _fail("credentialSubject.id", f"must be {DID_PREFIX}<USCI>")
    subject = _convert("credentialSubject.id",
                       lambda: validate_usci(subject_id[len(DID_PREFIX):]))
    evidence = _one(doc["evidence"], "evidence",
                    {"type", "checkpoint", "anchor", "asOfBlock", "records"})
    if evidence["type"] != [EVIDENCE_TYPE] or not isinstance(evidence["checkpoint"], str):
        _fail("evidence[0]", f"must be {EVIDENCE_TYPE} with the checkpoint note as text")
    as_of_block = _integer(evidence["asOfBlock"], "evidence[0].asOfBlock")
    anchor = _object(evidence["anchor"], "evidence[0].anchor",
                     {"treeSize", "rootHash", "blockNumber"})
    records = _read_evidence_records(evidence["records"], scopes)
    return AttestationFacts(
        doc["id"], subject, recipient, purpose, scopes, terms["consentId"], valid_from,
        valid_until, as_of_block, _validate_summary(subject_part["summary"], scopes, records),
        evidence["checkpoint"].encode("utf-8"),
        (_integer(anchor["treeSize"], "evidence[0].anchor.treeSize"),
         _hash(anchor["rootHash"], "evidence[0].anchor.rootHash"),
         _integer(anchor["blockNumber"], "evidence[0].anchor.blockNumber", as_of_block)),
        records)
