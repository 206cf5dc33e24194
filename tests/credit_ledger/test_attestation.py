"""Credit attestations: building, the offline round trip, and every alteration caught."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from anchoring.checkpoint import Checkpoint
from anchoring.note import sign_note
from credit_ledger.attestation import (
    MAX_VALID_FOR,
    AttestationVerdict,
    build_attestation,
    calculate_summary,
    verify_attestation,
)
from credit_ledger.records import CreditRecord, build_superseding_record, record_leaf_hash
from license_registry.data_integrity import create_proof
from license_registry.errors import InvalidInput
from license_registry.keys import public_key_of
from tests.credit_ledger.samples import (
    BANK,
    CONTENT,
    DAY,
    DEPARTMENT,
    ENTERPRISE,
    ENTERPRISE_SEED,
    LOG_ORIGIN,
    LOG_SIGNER,
    OTHER_BANK,
    OTHER_SIGNER,
    PLATFORM_KEY,
    PLATFORM_METHOD,
    PLATFORM_SEED,
    T0,
    build_log,
    make_record,
    record_id,
)

ATTESTATION_ID = "urn:uuid:0e6a1c52-7d33-4f0e-8a11-0000000000a1"
CONSENT_ID = "urn:uuid:6d1f0b4e-3a52-4c7e-9f00-0000000000c5"
CONSENT_DIGEST = hashlib.sha256(b"the signed consent").digest()
SCOPES = ["CR-PEN", "CR-RAT", "CR-TAX"]
RATING_OLD = make_record(21, "CR-RAT", effective_date="2024-06-30")
RATING_NEW = make_record(22, "CR-RAT", content={**CONTENT["CR-RAT"], "grade": "B"},
                         effective_date="2025-03-01")
TAX = make_record(23, "CR-TAX")
PENALTY_OPEN = make_record(24, "CR-PEN")
PENALTY_DONE = make_record(25, "CR-PEN", content={**CONTENT["CR-PEN"], "status": "FULFILLED"})
RECORDS = [RATING_OLD, RATING_NEW, TAX, PENALTY_OPEN, PENALTY_DONE]
NOTE, CHECKPOINT, PROOFS = build_log(RECORDS)
ANCHORED = {"size": CHECKPOINT.size, "root": CHECKPOINT.root.hex(), "block_number": 120}
ISSUED = T0 + 40 * DAY
VALID_FOR = 2 * DAY
NOW = ISSUED + 3600
ARGUMENTS: dict[str, Any] = {
    "attestation_id": ATTESTATION_ID, "consent_id": CONSENT_ID, "consent_digest": CONSENT_DIGEST,
    "bank": BANK, "subject": ENTERPRISE, "purpose": "LOAN_APPLICATION", "scopes": SCOPES,
    "records": RECORDS, "proofs": PROOFS, "checkpoint_note": NOTE, "anchored": ANCHORED,
    "as_of_block": 130, "issued_at": ISSUED, "valid_for": VALID_FOR,
    "platform_seed": PLATFORM_SEED, "verification_method": PLATFORM_METHOD,
}
ATTESTATION = build_attestation(**ARGUMENTS)


def anchored_roots(size: int) -> bytes | None:
    return CHECKPOINT.root if size == CHECKPOINT.size else None


def verify(att: dict[str, Any], now: int = NOW, *, key: bytes = PLATFORM_KEY,
           lookup: Callable[[int], bytes | None] | None = anchored_roots) -> AttestationVerdict:
    return verify_attestation(att, key, LOG_SIGNER.verifier(), now, anchored_root_lookup=lookup)


def test_shape() -> None:
    att = ATTESTATION
    assert (att["@context"], att["type"], att["id"], att["issuer"]) == (
        ["https://www.w3.org/ns/credentials/v2",
         "https://citychain.example/contexts/credit-attestation/v1"],
        ["VerifiableCredential", "CreditAttestation"], ATTESTATION_ID, "did:citychain:platform")
    assert (att["validFrom"], att["validUntil"]) == ("2025-02-10T00:00:00Z",
                                                     "2025-02-12T00:00:00Z")
    assert att["credentialSubject"] == {"id": f"did:citychain:{ENTERPRISE}", "summary": {
        "recordCounts": {"CR-PEN": 2, "CR-RAT": 2, "CR-TAX": 1},
        "latestCreditRating": {"grade": "B", "effectiveDate": "2025-03-01",
                               "recordId": record_id(22)},
        "latestTaxGrade": {"grade": "B", "effectiveDate": "2025-01-10",
                           "recordId": record_id(23)},
        "openPenalties": 1,
    }}
    assert att["termsOfUse"] == [{
        "type": "CreditQueryTerms", "recipient": BANK, "purpose": "LOAN_APPLICATION",
        "scopes": SCOPES, "consentId": CONSENT_ID, "consentDigest": CONSENT_DIGEST.hex(),
        "redistribution": "prohibited",
        "statement": "Issued to the recipient for the stated purpose under the stated consent "
                     "only; redistribution or disclosure to third parties is prohibited."}]
    evidence = att["evidence"][0]
    assert (evidence["type"], evidence["checkpoint"], evidence["asOfBlock"]) == (
        ["CreditLogEvidence"], NOTE.decode(), 130)
    assert evidence["anchor"] == {"treeSize": 8, "rootHash": CHECKPOINT.root.hex(),
                                  "blockNumber": 120}
    assert evidence["records"][0] == {
        "recordId": record_id(21), "recordType": "CR-RAT",
        "leafHash": record_leaf_hash(RATING_OLD).hex(), "leafIndex": 3,
        "inclusionProof": [h.hex() for h in PROOFS[record_id(21)][1]]}
    assert [r["leafIndex"] for r in evidence["records"]] == [3, 4, 5, 6, 7]
    assert att["proof"]["verificationMethod"] == PLATFORM_METHOD


def test_summary_leaves_out_types_out_of_scope() -> None:
    assert calculate_summary([TAX], ["CR-TAX"]) == {
        "recordCounts": {"CR-TAX": 1},
        "latestTaxGrade": {"grade": "B", "effectiveDate": "2025-01-10",
                           "recordId": record_id(23)}}
    assert calculate_summary([], ["CR-RAT", "CR-PEN"]) == {
        "recordCounts": {"CR-RAT": 0, "CR-PEN": 0}, "latestCreditRating": None,
        "openPenalties": 0}


def test_round_trip() -> None:
    verdict = verify(ATTESTATION)
    assert (verdict.valid, verdict.reasons) == (True, ())
    assert [(c.name, c.outcome) for c in verdict.checks] == [
        ("format", "pass"), ("signature", "pass"), ("validity", "pass"),
        ("checkpoint", "pass"), ("inclusion", "pass"), ("anchoring", "pass")]
    assert verdict.facts is not None
    assert (verdict.facts.subject, verdict.facts.recipient, verdict.facts.scopes,
            verdict.facts.as_of_block) == (ENTERPRISE, BANK, tuple(SCOPES), 130)


def test_without_an_anchor_source_anchoring_is_skipped() -> None:
    verdict = verify(ATTESTATION, lookup=None)
    assert verdict.valid and verdict.check("anchoring").outcome == "skipped"


def test_a_minimal_attestation_round_trips() -> None:
    note, checkpoint, proofs = build_log([TAX], padding=0)
    att = build_attestation(**{
        **ARGUMENTS, "scopes": ["CR-TAX"], "records": [TAX], "proofs": proofs,
        "checkpoint_note": note, "anchored": {"size": 1, "root": checkpoint.root.hex(),
                                              "block_number": 7}})
    assert verify(att, lookup=None).reasons == ()


def tampered(edit: Callable[[dict[str, Any]], None], *, resign: bool = False) -> dict[str, Any]:
    """ATTESTATION with ``edit`` applied; ``resign``: signed again by the platform key (a
    platform bug or a stolen key), so the checks after the signature are seen alone."""
    att = copy.deepcopy(ATTESTATION)
    edit(att)
    if resign:
        del att["proof"]
        att = create_proof(att, PLATFORM_SEED, PLATFORM_METHOD, "2025-02-10T00:00:00Z")
    return att


def set_summary(att: dict[str, Any]) -> None:
    att["credentialSubject"]["summary"]["openPenalties"] = 0


def set_count(att: dict[str, Any]) -> None:
    att["credentialSubject"]["summary"]["recordCounts"]["CR-RAT"] = 3


def set_record_hash(att: dict[str, Any]) -> None:
    att["evidence"][0]["records"][1]["leafHash"] = hashlib.sha256(b"another record").hexdigest()


def set_proof_hash(att: dict[str, Any]) -> None:
    att["evidence"][0]["records"][2]["inclusionProof"][0] = "ab" * 32


def extend(seconds: int) -> Callable[[dict[str, Any]], None]:
    def edit(att: dict[str, Any]) -> None:
        att["validUntil"] = {DAY: "2025-02-13T00:00:00Z",
                             MAX_VALID_FOR: "2025-02-17T00:00:01Z"}[seconds]
    return edit


def swap_checkpoint(note: bytes) -> Callable[[dict[str, Any]], None]:
    def edit(att: dict[str, Any]) -> None:
        att["evidence"][0]["checkpoint"] = note.decode()
    return edit


def set_anchor(att: dict[str, Any]) -> None:
    att["evidence"][0]["anchor"]["treeSize"] = 9


FOREIGN_NOTE = sign_note(CHECKPOINT.body(), [OTHER_SIGNER])  # same tree, another key
LATER_NOTE = build_log(RECORDS, padding=4)[0]  # the log's key, a later (other) tree
AFTER_ORIGINAL_EXPIRY = ISSUED + VALID_FOR + 60

# (case, attestation, verifier's clock) -> the exact reasons of the verdict.
ALTERATIONS: list[tuple[str, dict[str, Any], int, tuple[str, ...]]] = [
    ("summary changed", tampered(set_summary), NOW, ("signature_invalid",)),
    ("summary disagrees with the evidence", tampered(set_count), NOW, ("malformed",)),
    ("record hash changed", tampered(set_record_hash), NOW,
     ("signature_invalid", "bad_proof")),
    ("proof hash changed", tampered(set_proof_hash), NOW, ("signature_invalid", "bad_proof")),
    ("validUntil extended", tampered(extend(DAY)), AFTER_ORIGINAL_EXPIRY,
     ("signature_invalid",)),
    ("validUntil beyond 7 days", tampered(extend(MAX_VALID_FOR)), NOW, ("malformed",)),
    ("checkpoint of another key", tampered(swap_checkpoint(FOREIGN_NOTE)), NOW,
     ("signature_invalid", "checkpoint_invalid")),
    ("checkpoint of another tree", tampered(swap_checkpoint(LATER_NOTE)), NOW,
     ("signature_invalid", "bad_proof", "not_anchored")),
    ("anchor of another tree", tampered(set_anchor), NOW, ("signature_invalid", "not_anchored")),
    # Re-signed by the platform key: each evidence check catches its own alteration.
    ("record hash changed, re-signed", tampered(set_record_hash, resign=True), NOW,
     ("bad_proof",)),
    ("proof hash changed, re-signed", tampered(set_proof_hash, resign=True), NOW,
     ("bad_proof",)),
    ("checkpoint of another key, re-signed",
     tampered(swap_checkpoint(FOREIGN_NOTE), resign=True), NOW, ("checkpoint_invalid",)),
    ("checkpoint of another tree, re-signed", tampered(swap_checkpoint(LATER_NOTE), resign=True),
     NOW, ("bad_proof", "not_anchored")),
    ("validUntil extended, re-signed", tampered(extend(DAY), resign=True),
     AFTER_ORIGINAL_EXPIRY, ()),  # the platform may sign what it likes, up to 7 days
    ("validUntil beyond 7 days, re-signed", tampered(extend(MAX_VALID_FOR), resign=True), NOW,
     ("malformed",)),
    ("genuine, after expiry", ATTESTATION, AFTER_ORIGINAL_EXPIRY, ("expired",)),
    ("genuine, at validUntil", ATTESTATION, ISSUED + VALID_FOR, ("expired",)),
    ("genuine, before validFrom", ATTESTATION, ISSUED - 301, ("not_yet_valid",)),
    ("genuine, within clock skew", ATTESTATION, ISSUED - 300, ()),
]


@pytest.mark.parametrize(("case", "att", "now", "reasons"), ALTERATIONS,
                         ids=[row[0] for row in ALTERATIONS])
def test_alterations(case: str, att: dict[str, Any], now: int,
                     reasons: tuple[str, ...]) -> None:
    verdict = verify(att, now)
    assert verdict.reasons == reasons
    assert verdict.valid is (reasons == ())


def test_another_signer_is_refused() -> None:
    forged = tampered(lambda att: None)
    del forged["proof"]
    forged = create_proof(forged, ENTERPRISE_SEED, PLATFORM_METHOD, "2025-02-10T00:00:00Z")
    assert verify(forged).reasons == ("signature_invalid",)
    assert verify(ATTESTATION, key=public_key_of(ENTERPRISE_SEED)).reasons == (
        "signature_invalid",)


@pytest.mark.parametrize(("lookup", "reasons", "detail"), [
    (lambda size: None, ("not_anchored",), "no root is anchored for size 8"),
    (lambda size: b"\x01" * 32, ("not_anchored",), "the chain anchored another root for size 8"),
    (anchored_roots, (), "size 8 anchored"),
])
def test_anchored_root_lookup(lookup: Callable[[int], bytes | None], reasons: tuple[str, ...],
                              detail: str) -> None:
    verdict = verify(ATTESTATION, lookup=lookup)
    assert (verdict.reasons, verdict.check("anchoring").detail) == (reasons, detail)


def drop(key: str) -> Callable[[dict[str, Any]], None]:
    return lambda att: att.pop(key)


@pytest.mark.parametrize(("att", "words"), [
    ("not an attestation", "attestation field attestation: must be a JSON object"),
    (tampered(drop("termsOfUse")), "attestation field termsOfUse: is missing"),
    (tampered(drop("proof")), "attestation field proof: is missing"),
    (tampered(lambda a: a.update(refreshService={"id": "x"})),
     "attestation field refreshService: is not a field of a credit attestation"),
    (tampered(lambda a: a["termsOfUse"][0].update(redistribution="allowed")),
     "attestation field termsOfUse[0]: must be CreditQueryTerms prohibiting redistribution"),
    (tampered(lambda a: a["evidence"][0]["records"][0].update(recordType="CR-JUD")),
     "attestation field evidence[0].records[0].recordType"),
    (tampered(lambda a: a["evidence"][0]["records"][0].update(leafIndex=-1)),
     "attestation field evidence[0].records[0].leafIndex"),
    (tampered(lambda a: a["credentialSubject"]["summary"].pop("openPenalties")),
     "attestation field credentialSubject.summary.openPenalties: is missing"),
    (tampered(lambda a: a["credentialSubject"]["summary"]["latestTaxGrade"].update(
        recordId=record_id(21))), "attestation field credentialSubject.summary.latestTaxGrade"),
    (tampered(lambda a: a.update(issuer="did:citychain:someone-else")),
     "attestation field proof.verificationMethod"),
])
def test_malformed_attestations_name_the_field(att: Any, words: str) -> None:
    verdict = verify(att)
    assert verdict.reasons == ("malformed",)
    assert verdict.check("format").detail.startswith(words)
    assert [c.outcome for c in verdict.checks[1:]] == ["skipped"] * 5


SUPERSEDED_TAX = build_superseding_record(
    TAX, content={**CONTENT["CR-TAX"], "grade": "A"}, kind="appeal", reason="复评调整为A级",
    now=T0 + 50, new_id=record_id(26), department=DEPARTMENT, superseded_by=None)
OUTSIDER = make_record(27, "CR-RAT", subject=OTHER_BANK)


def without(record: CreditRecord) -> dict[str, Any]:
    return {k: v for k, v in PROOFS.items() if k != record.record_id}


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"records": [*RECORDS, make_record(28, "CR-COM")]}, "records", "outside the consented"),
    ({"records": [*RECORDS, OUTSIDER]}, "records", f"not the subject {ENTERPRISE}"),
    ({"records": [TAX, SUPERSEDED_TAX]}, "records", f"{record_id(23)} is superseded"),
    ({"records": [TAX, TAX]}, "records", "listed twice"),
    ({"proofs": without(TAX)}, "proofs", f"no inclusion proof for record {record_id(23)}"),
    ({"records": RECORDS[:-1]}, "proofs", f"a proof is given for {record_id(25)}"),
    ({"proofs": {**PROOFS, TAX.record_id: PROOFS[record_id(21)]}}, "proofs",
     f"the proof for record {record_id(23)} does not verify"),
    ({"anchored": {**ANCHORED, "size": 9}}, "anchored", "those of the checkpoint"),
    ({"anchored": {**ANCHORED, "block_number": 131}}, "anchored", "0-130"),
    ({"checkpoint_note": b"not a note"}, "checkpointNote", "not a signed C2SP checkpoint"),
    ({"valid_for": 0}, "validFor", "at most 7 days"),
    ({"valid_for": MAX_VALID_FOR + 1}, "validFor", "at most 7 days"),
    ({"verification_method": "platform-key"}, "verificationMethod", "<issuer DID>#<key id>"),
    ({"consent_digest": b"short"}, "consentDigest", "32-byte"),
    ({"attestation_id": "att-1"}, "attestationId", "urn:uuid"),
    ({"purpose": "MARKETING"}, "purpose", "not a purpose code"),
    ({"scopes": ["CR-RAT", "CR-RAT"]}, "scopes", "twice"),
    ({"bank": "91110000600037341X"}, "bank", "check character"),
])
def test_build_refuses_what_it_cannot_stand_behind(change: dict[str, Any], field: str,
                                                   words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_attestation(**{**ARGUMENTS, **change})
    assert caught.value.field == field
    assert words in caught.value.message


def test_build_checks_the_checkpoint_covers_the_records() -> None:
    small = Checkpoint(LOG_ORIGIN, 2, CHECKPOINT.root)
    with pytest.raises(InvalidInput) as caught:
        build_attestation(**{**ARGUMENTS, "checkpoint_note": sign_note(small.body(), [LOG_SIGNER]),
                             "anchored": {**ANCHORED, "size": 2}})
    assert caught.value.field == "proofs"
