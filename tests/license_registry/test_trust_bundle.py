"""The signed trust bundle and the offline verifier built on it.

One in-memory city: an issuing department with one listed key, two verifying departments
(one recognizes the issuer's business licenses), a revocation and a suspension list with
some bits set and their digests on chain, and one anchored log. Every test derives its
case from that world by changing one thing.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
from typing import Any

import pytest

from license_registry import trust_bundle
from license_registry.city_code import encode_city_code
from license_registry.data_integrity import create_proof
from license_registry.errors import FormatError
from license_registry.identifiers import HolderIdType, calculate_usci_check, salted_hash
from license_registry.jcs import canonicalize
from license_registry.keys import calculate_kid, public_key_of
from license_registry.license_types import LicenseMetadata, get_license_type
from license_registry.presented import build_city_code_claims, build_credential, datetime_text
from license_registry.status_list import (
    StatusBitstring,
    build_status_list_credential,
    status_entry,
)
from license_registry.trust import (
    ALG_ED25519,
    ROLE_ISSUER,
    ROLE_VERIFIER,
    AnchoredCheckpoint,
    DepartmentInfo,
    Recognition,
    StatusListAnchor,
    TrustedKey,
    TrustSnapshot,
)
from license_registry.trust_bundle import (
    OfflineVerifier,
    build_trust_bundle,
    open_trust_bundle,
)

DAY = 86_400
NOW = 1_750_000_000  # 2025-06-15
GENERATED = NOW - 600
ISSUER = "91350100M000100Y43"  # market regulation bureau: issues CN-BL
VERIFIER = "11350100MB0000000" + calculate_usci_check("11350100MB0000000")  # recognizes ISSUER
STRANGER = "11350100MB0000001" + calculate_usci_check("11350100MB0000001")  # recognizes nobody
HOLDER = "91110000600037341L"
BASE = "https://trust.city.example"
ORIGIN = "trust.city.example/log/" + ISSUER
ISSUER_SEED = bytes(range(1, 33))
PLATFORM_SEED = bytes(range(101, 133))
PLATFORM_KEY = public_key_of(PLATFORM_SEED)
ISSUER_KID = calculate_kid(public_key_of(ISSUER_SEED))
VALID_INDEX, REVOKED_INDEX, SUSPENDED_INDEX = 4242, 77_777, 131_071
SUBJECT = {"enterpriseName": "福州示例科技有限公司", "legalRepresentative": "张小三",
           "registeredCapital": "1000万元", "businessScope": "软件开发；信息技术咨询服务",
           "address": "福建省福州市鼓楼区示例路1号"}


def list_url(purpose: str, number: int = 0, department: str = ISSUER) -> str:
    return f"{BASE}/v1/status-lists/{department}/{number}/{purpose}"


def signed_status_list(purpose: str, set_bits: tuple[int, ...], seed: bytes = ISSUER_SEED,
                       valid_from: int = NOW - 3600,
                       valid_until: int | None = None) -> dict[str, Any]:
    bits = StatusBitstring()
    for index in set_bits:
        bits.set(index, True)
    unsigned = build_status_list_credential(
        list_url(purpose), f"did:citychain:{ISSUER}", purpose, bits.encode(),
        datetime_text(valid_from), None if valid_until is None else datetime_text(valid_until))
    kid = calculate_kid(public_key_of(seed))
    return create_proof(unsigned, seed, f"did:citychain:{ISSUER}#{kid.hex()}",
                        datetime_text(valid_from))


def digest(credential: dict[str, Any]) -> bytes:
    return hashlib.sha256(canonicalize(credential)).digest()


def list_id(url: str) -> bytes:
    return hashlib.sha256(url.encode()).digest()


REVOCATION = signed_status_list("revocation", (REVOKED_INDEX,))
SUSPENSION = signed_status_list("suspension", (SUSPENDED_INDEX,))


def status_inputs(revocation: dict[str, Any] = REVOCATION,
                  suspension: dict[str, Any] = SUSPENSION) -> list[dict[str, Any]]:
    # The department store keeps the JCS text; the bundle builder takes it as it is.
    return [{"department": ISSUER, "number": 0, "purpose": purpose, "url": list_url(purpose),
             "version": 3, "credential": canonicalize(credential).decode()}
            for purpose, credential in (("revocation", revocation), ("suspension", suspension))]


def make_snapshot(**changes: Any) -> TrustSnapshot:
    anchors = {list_id(list_url(p)): StatusListAnchor(list_id(list_url(p)), ISSUER, digest(c), 3,
                                                      NOW - 3000)
               for p, c in (("revocation", REVOCATION), ("suspension", SUSPENSION))}
    log_id = hashlib.sha256(ORIGIN.encode()).digest()
    values: dict[str, Any] = {
        "block_number": 1234, "block_hash": bytes(range(32)), "block_time": GENERATED - 5,
        "departments": {
            ISSUER: DepartmentInfo(ISSUER, "福州市市场监督管理局", ROLE_ISSUER, True,
                                   (b"\x11" * 20, b"\x12" * 20)),
            VERIFIER: DepartmentInfo(VERIFIER, "福州市住房和城乡建设局", ROLE_VERIFIER, True,
                                     (b"\x21" * 20,)),
            STRANGER: DepartmentInfo(STRANGER, "示例局", ROLE_VERIFIER, True, ())},
        "keys": (TrustedKey(ISSUER, ISSUER_KID, ALG_ED25519, public_key_of(ISSUER_SEED),
                            NOW - 365 * DAY, NOW + 365 * DAY),
                 TrustedKey(ISSUER, bytes(8), ALG_ED25519, bytes(32), NOW - 900 * DAY,
                            NOW - 365 * DAY, NOW - 400 * DAY, 4)),
        "accreditations": frozenset({(ISSUER, "CN-BL"), (ISSUER, "CN-FBL")}),
        "recognitions": (Recognition(VERIFIER, ISSUER, "CN-BL", NOW - 30 * DAY,
                                     NOW + 365 * DAY),
                         Recognition(VERIFIER, ISSUER, "CN-FBL", NOW - 30 * DAY,
                                     NOW + 365 * DAY, NOW - DAY)),
        "status_lists": anchors,
        "checkpoints": {log_id: AnchoredCheckpoint(log_id, 17, b"\x42" * 32, 1200,
                                                   GENERATED - 60)},
    }
    values.update(changes)
    return TrustSnapshot(**values)


def make_bundle(snapshot: TrustSnapshot | None = None,
                lists: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return build_trust_bundle(
        make_snapshot() if snapshot is None else snapshot,
        status_inputs() if lists is None else lists,
        {hashlib.sha256(ORIGIN.encode()).digest(): ORIGIN}, GENERATED, PLATFORM_SEED,
        "urn:uuid:6c1b1d2e-3f4a-4b5c-8d6e-7f8091a2b3c4")


BUNDLE = make_bundle()


def license_metadata() -> LicenseMetadata:
    return LicenseMetadata(
        license_number="FZ-2024-000123", license_type="CN-BL", issuer_usci=ISSUER,
        issuer_name="福州市市场监督管理局", holder_id_type=HolderIdType.USCI, holder_id=HOLDER,
        valid_from=NOW - 30 * DAY, valid_until=NOW + 5 * 365 * DAY)


def make_city_code(index: int = VALID_INDEX, seed: bytes = ISSUER_SEED) -> str:
    claims = build_city_code_claims(
        credential_id="urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
        metadata=license_metadata(), license_type=get_license_type("CN-BL"), subject=SUBJECT,
        issued_at=NOW - 2 * DAY, status_list_number=0, status_index=index)
    return encode_city_code(claims, calculate_kid(public_key_of(seed)), seed)


def make_credential(index: int = VALID_INDEX) -> dict[str, Any]:
    unsigned = build_credential(
        credential_id="urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e",
        metadata=license_metadata(), license_type=get_license_type("CN-BL"), subject=SUBJECT,
        holder_salted_hash=salted_hash(HOLDER, b"city registry salt, 32 bytes...!"),
        issued_at=NOW - 2 * DAY,
        status_entries=[status_entry(list_url(p), p, index) for p in ("revocation", "suspension")])
    return create_proof(unsigned, ISSUER_SEED, f"did:citychain:{ISSUER}#{ISSUER_KID.hex()}",
                        datetime_text(NOW - 2 * DAY))


def resign(bundle: dict[str, Any], seed: bytes = PLATFORM_SEED) -> dict[str, Any]:
    """The bundle with a fresh platform proof: for malformed content the platform signed."""
    unsigned = {k: v for k, v in bundle.items() if k != "proof"}
    kid = calculate_kid(public_key_of(seed)).hex()
    return create_proof(unsigned, seed, f"did:citychain:platform#{kid}", "2025-06-15T15:00:00Z")


def sorted_snapshot(snapshot: TrustSnapshot) -> TrustSnapshot:
    return dataclasses.replace(snapshot, keys=tuple(sorted(snapshot.keys, key=repr)),
                               recognitions=tuple(sorted(snapshot.recognitions, key=repr)))


# --- building and opening -------------------------------------------------------------


def test_bundle_round_trips_to_the_same_snapshot() -> None:
    opened = open_trust_bundle(json.loads(json.dumps(BUNDLE)), PLATFORM_KEY, NOW)
    assert sorted_snapshot(opened.snapshot) == sorted_snapshot(make_snapshot())
    assert opened.generated_at == GENERATED
    assert opened.age_seconds == 600
    assert opened.log_origins == {hashlib.sha256(ORIGIN.encode()).digest(): ORIGIN}
    assert opened.warnings == []
    assert opened.bundle_id == BUNDLE["id"]


def test_bundle_document_is_the_documented_shape() -> None:
    assert BUNDLE["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert BUNDLE["type"] == ["CityTrustBundle"]
    assert BUNDLE["issuer"] == "did:citychain:platform"
    assert BUNDLE["generatedAt"] == "2025-06-15T14:56:40Z"
    assert BUNDLE["chain"] == {"blockNumber": 1234, "blockHash": bytes(range(32)).hex(),
                               "blockTime": GENERATED - 5}
    assert BUNDLE["departments"][0] == {
        "usci": VERIFIER, "name": "福州市住房和城乡建设局", "roles": ROLE_VERIFIER,
        "active": True, "accounts": ["0x" + "21" * 20]}
    revocation = BUNDLE["statusLists"][0]
    assert revocation["purpose"] == "revocation"
    assert revocation["listId"] == list_id(list_url("revocation")).hex()
    assert revocation["onChain"] == {"digest": digest(REVOCATION).hex(), "version": 3,
                                     "publishedAt": NOW - 3000}
    assert revocation["credential"] == REVOCATION
    assert BUNDLE["checkpoints"][0]["origin"] == ORIGIN
    proof = BUNDLE["proof"]
    assert (proof["type"], proof["cryptosuite"]) == ("DataIntegrityProof", "eddsa-jcs-2022")
    assert proof["verificationMethod"] == (
        f"did:citychain:platform#{hashlib.sha256(PLATFORM_KEY).digest()[:8].hex()}")
    canonicalize(BUNDLE)  # integers only: refuses any float


def test_same_inputs_in_any_order_give_the_same_bytes() -> None:
    snapshot = make_snapshot()
    shuffled = dataclasses.replace(
        snapshot, keys=snapshot.keys[::-1], recognitions=snapshot.recognitions[::-1],
        departments=dict(reversed(list(snapshot.departments.items()))))
    again = make_bundle(shuffled, status_inputs()[::-1])
    assert canonicalize(again) == canonicalize(BUNDLE)


def test_times_beyond_the_json_safe_range_are_cut_to_it() -> None:
    forever = Recognition(VERIFIER, ISSUER, "CN-FBL", 0, 2**64 - 1)
    bundle = make_bundle(make_snapshot(recognitions=(forever,)))
    opened = open_trust_bundle(bundle, PLATFORM_KEY, NOW)
    assert opened.snapshot.recognitions[0].valid_until == 2**53 - 1


@pytest.mark.parametrize("tamper", [
    lambda b: b["chain"].update(blockNumber=1235),
    lambda b: b["keys"][0].update(validUntil=b["keys"][0]["validUntil"] + 1),
    lambda b: b["recognitions"].pop(),
    lambda b: b["accreditations"].append({"department": VERIFIER, "licenseType": "CN-BL"}),
    lambda b: b["statusLists"][0]["credential"]["credentialSubject"].update(
        encodedList=signed_status_list("revocation", ())["credentialSubject"]["encodedList"]),
    lambda b: b.update(generatedAt="2025-06-16T00:00:00Z"),
], ids=["block", "key validity", "recognition removed", "accreditation added",
        "revocation list swapped", "generatedAt"])
def test_a_changed_bundle_fails_the_platform_signature(tamper: Any) -> None:
    bundle = copy.deepcopy(BUNDLE)
    tamper(bundle)
    with pytest.raises(FormatError) as error:
        open_trust_bundle(bundle, PLATFORM_KEY, NOW)
    assert error.value.code == "bundle_signature_invalid"


def test_a_bundle_signed_by_another_key_is_refused() -> None:
    with pytest.raises(FormatError) as error:
        open_trust_bundle(BUNDLE, public_key_of(ISSUER_SEED), NOW)
    assert error.value.code == "bundle_signature_invalid"
    assert "check the platform key" in error.value.message
    forged = resign(BUNDLE, seed=ISSUER_SEED)  # well formed, but not the platform's key
    with pytest.raises(FormatError) as error:
        open_trust_bundle(forged, PLATFORM_KEY, NOW)
    assert error.value.code == "bundle_signature_invalid"


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(bundle: dict[str, Any]) -> None:
        target = bundle
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


@pytest.mark.parametrize(("change", "field"), [
    (_set(("chain", "blockNumber"), -1), "chain.blockNumber"),
    (_set(("chain", "blockNumber"), True), "chain.blockNumber"),
    (_set(("chain", "blockHash"), "AB" * 32), "chain.blockHash"),
    (_set(("keys", 0, "kid"), "00"), "keys[0].kid"),
    (_set(("keys", 0, "department"), "91350100m000100y43"), "keys[0].department"),
    (_set(("keys", 0, "extra"), 1), "keys[0]"),
    (_set(("departments", 0, "accounts", 0), "21" * 20), "departments[0].accounts[0]"),
    (_set(("departments", 0, "active"), 1), "departments[0].active"),
    (_set(("recognitions", 0, "withdrawnAt"), "never"), "recognitions[0].withdrawnAt"),
    (_set(("statusLists", 0, "listId"), "00" * 32), "statusLists[0].listId"),
    (_set(("statusLists", 0, "number"), 1), "statusLists[0].url"),
    (_set(("statusLists", 0, "purpose"), "expiry"), "statusLists[0].url"),
    (_set(("statusLists", 0, "credential"), []), "statusLists[0].credential"),
    (_set(("checkpoints", 0, "origin"), "elsewhere/log"), "checkpoints[0].origin"),
    (_set(("generatedAt",), "2025-06-15 14:56:40"), "generatedAt"),
    (_set(("type",), ["VerifiableCredential"]), "type"),
    (lambda b: b["statusLists"].append(copy.deepcopy(b["statusLists"][0])), "statusLists"),
    (lambda b: b["departments"].append(copy.deepcopy(b["departments"][0])), "departments"),
])
def test_a_malformed_bundle_is_refused_naming_the_field(change: Any, field: str) -> None:
    bundle = copy.deepcopy(BUNDLE)
    change(bundle)
    with pytest.raises(FormatError) as error:
        open_trust_bundle(resign(bundle), PLATFORM_KEY, NOW)
    assert (error.value.code, error.value.field) == ("bad_bundle", field)


@pytest.mark.parametrize("bundle", [
    None, [], "bundle",
    {k: v for k, v in BUNDLE.items() if k != "proof"},
    {k: v for k, v in BUNDLE.items() if k != "keys"},
    {**BUNDLE, "extra": 1},
    {**BUNDLE, "proof": {**BUNDLE["proof"], "proofValue": "z1"}},
    {**BUNDLE, "chain": {**BUNDLE["chain"], "blockTime": 1.5}},
])
def test_unsigned_or_unreadable_input_is_a_bad_bundle(bundle: Any) -> None:
    with pytest.raises(FormatError) as error:
        open_trust_bundle(bundle, PLATFORM_KEY, NOW)
    assert error.value.code == "bad_bundle"


def test_a_bundle_older_than_max_age_is_refused() -> None:
    assert open_trust_bundle(BUNDLE, PLATFORM_KEY, NOW, max_age=600).age_seconds == 600
    with pytest.raises(FormatError) as error:
        open_trust_bundle(BUNDLE, PLATFORM_KEY, NOW + 1, max_age=600)
    assert error.value.code == "bundle_too_old"
    verifier = OfflineVerifier(BUNDLE, PLATFORM_KEY, max_age=600)
    with pytest.raises(FormatError, match="fetch a fresh bundle"):
        verifier.verify(make_city_code(), NOW + 1)


def test_a_bundle_from_the_future_warns_about_the_clock() -> None:
    opened = open_trust_bundle(BUNDLE, PLATFORM_KEY, GENERATED - 3600)
    assert opened.age_seconds == -3600
    assert any("check the clock" in w for w in opened.warnings)


# --- status lists ---------------------------------------------------------------------


def test_a_list_not_matching_its_on_chain_digest_is_not_used() -> None:
    # The chain already has a newer revocation list than the one the bundle carries.
    newer = signed_status_list("revocation", (REVOKED_INDEX, VALID_INDEX))
    snapshot = make_snapshot()
    anchors = dict(snapshot.status_lists)
    rev_id = list_id(list_url("revocation"))
    anchors[rev_id] = dataclasses.replace(anchors[rev_id], digest=digest(newer), version=4)
    bundle = make_bundle(dataclasses.replace(snapshot, status_lists=anchors))
    opened = open_trust_bundle(bundle, PLATFORM_KEY, NOW)
    assert len(opened.warnings) == 1
    assert "does not match the digest published on chain (version 4)" in opened.warnings[0]
    assert list_url("revocation") in opened.warnings[0]
    assert opened.status.status(ISSUER, 0, VALID_INDEX) is None
    verdict = OfflineVerifier(bundle, PLATFORM_KEY).verify(make_city_code(), NOW)
    assert not verdict.valid
    assert verdict.reasons == ["status_unavailable", "status_unavailable"]
    assert verdict.extra["trustBundle"]["warnings"] == opened.warnings


@pytest.mark.parametrize(("revocation", "problem"), [
    (signed_status_list("revocation", (), seed=bytes(32)), "is not on the trust list"),
    ({**REVOCATION, "issuer": f"did:citychain:{VERIFIER}"}, "not the revocation list"),
    ({**REVOCATION, "proof": {**REVOCATION["proof"],
                              "verificationMethod": f"did:citychain:{VERIFIER}#{'00' * 8}"}},
     "not by a key of"),
    ({**REVOCATION, "validFrom": datetime_text(NOW - 3599)}, "signature does not verify"),
    (signed_status_list("revocation", (), valid_from=NOW - 2 * 365 * DAY),
     "signature does not verify with a key valid when it was issued"),
    (signed_status_list("revocation", (), valid_until=GENERATED - 1), "expired"),
])
def test_a_list_its_department_did_not_sign_is_not_used(revocation: dict[str, Any],
                                                        problem: str) -> None:
    # No digest on chain for it, so only the department's signature could vouch for it.
    snapshot = make_snapshot(status_lists={})
    opened = open_trust_bundle(make_bundle(snapshot, status_inputs(revocation=revocation)),
                               PLATFORM_KEY, NOW)
    unused = [w for w in opened.warnings if "is not used" in w]
    assert len(unused) == 1 and problem in unused[0], opened.warnings
    assert opened.status.status(ISSUER, 0, VALID_INDEX) is None


def test_a_signed_list_without_a_digest_on_chain_is_used_with_a_warning() -> None:
    opened = open_trust_bundle(make_bundle(make_snapshot(status_lists={})), PLATFORM_KEY, NOW)
    assert len(opened.warnings) == 2
    assert all("no digest on chain yet" in w for w in opened.warnings)
    assert opened.status.status(ISSUER, 0, REVOKED_INDEX) == {"revocation": True,
                                                              "suspension": False}


def test_status_lists_are_decoded_once_on_first_use(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded: list[str] = []
    original = StatusBitstring.decode

    def counting(encoded: str, min_size: int = 131_072) -> StatusBitstring:
        decoded.append(encoded)
        return original(encoded, min_size)

    monkeypatch.setattr(trust_bundle.StatusBitstring, "decode", staticmethod(counting))
    opened = open_trust_bundle(BUNDLE, PLATFORM_KEY, NOW)
    assert decoded == []
    assert opened.status.status(ISSUER, 0, SUSPENDED_INDEX) == {"revocation": False,
                                                                "suspension": True}
    assert opened.status.status(ISSUER, 0, VALID_INDEX) == {"revocation": False,
                                                            "suspension": False}
    assert len(decoded) == 2
    assert opened.status.status(ISSUER, 1, VALID_INDEX) is None  # no list 1
    assert opened.status.status(ISSUER, 0, 131_072) is None  # beyond the list


# --- the offline verifier -------------------------------------------------------------


def test_a_valid_city_code_verifies_offline() -> None:
    verdict = OfflineVerifier(BUNDLE, PLATFORM_KEY).verify(make_city_code(), NOW, VERIFIER)
    assert verdict.valid, verdict.to_json()
    assert verdict.mode == "offline"
    assert verdict.check("anchoring").outcome == "skipped"
    assert verdict.check("recognition").outcome == "pass"
    assert verdict.trust_block == 1234
    assert verdict.extra["trustBundle"] == {
        "id": BUNDLE["id"], "generatedAt": "2025-06-15T14:56:40Z", "ageSeconds": 600,
        "block": 1234, "warnings": []}
    assert verdict.to_json()["trustBundle"]["ageSeconds"] == 600


def test_a_valid_full_credential_verifies_offline() -> None:
    verdict = OfflineVerifier(BUNDLE, PLATFORM_KEY).verify(make_credential(), NOW)
    assert verdict.valid, verdict.to_json()
    assert verdict.check("format").detail == "credential"


@pytest.mark.parametrize(("index", "check", "reason"), [
    (REVOKED_INDEX, "revocation", "revoked"),
    (SUSPENDED_INDEX, "suspension", "suspended"),
])
def test_a_set_status_bit_makes_the_verdict_invalid(index: int, check: str, reason: str) -> None:
    verifier = OfflineVerifier(BUNDLE, PLATFORM_KEY)
    for presentation in (make_city_code(index), make_credential(index)):
        verdict = verifier.verify(presentation, NOW)
        assert not verdict.valid
        assert verdict.reasons == [reason]
        assert verdict.check(check).detail == f"list 0 index {index}"


def test_a_code_signed_by_an_unlisted_key_is_refused() -> None:
    verdict = OfflineVerifier(BUNDLE, PLATFORM_KEY).verify(make_city_code(seed=bytes(32)), NOW)
    assert verdict.reasons == ["unknown_key"]


@pytest.mark.parametrize(("department", "outcome", "reason"), [
    (VERIFIER, "pass", None),
    (ISSUER, "pass", None),  # a department always accepts its own licenses
    (STRANGER, "fail", "not_recognized"),
    (None, "skipped", None),
])
def test_recognition_is_judged_for_the_verifier_department(department: str | None,
                                                           outcome: str,
                                                           reason: str | None) -> None:
    verdict = OfflineVerifier(BUNDLE, PLATFORM_KEY).verify(make_city_code(), NOW, department)
    assert (verdict.check("recognition").outcome, verdict.check("recognition").reason) == (
        outcome, reason)


def test_each_verdict_has_its_own_extra() -> None:
    # The verifier fills the new verdict's extra in place: no verdict shares it with another.
    verifier = OfflineVerifier(BUNDLE, PLATFORM_KEY)
    first, second = (verifier.verify(make_city_code(), NOW, VERIFIER) for _ in range(2))
    assert first.extra == second.extra and first.extra is not second.extra
    first.extra["trustBundle"]["warnings"].append("changed by the caller")
    assert second.extra["trustBundle"]["warnings"] == []
    assert verifier.verify(make_city_code(), NOW).extra["trustBundle"]["warnings"] == []


def test_age_is_reported_for_the_time_of_each_verification() -> None:
    verifier = OfflineVerifier(BUNDLE, PLATFORM_KEY)
    code = make_city_code()
    ages = [verifier.verify(code, now).extra["trustBundle"]["ageSeconds"]
            for now in (NOW, NOW + DAY)]
    assert ages == [600, 600 + DAY]


def test_a_malformed_code_is_an_invalid_verdict_not_an_error() -> None:
    verdict = OfflineVerifier(BUNDLE, PLATFORM_KEY).verify("CC1:NOT-A-CODE", NOW)
    assert verdict.check("format").outcome == "fail"
    assert "trustBundle" in verdict.extra


def test_a_second_proof_beside_the_platforms_is_ignored() -> None:
    # During a platform key rotation the bundle carries the old and the new key's proofs.
    new_seed = bytes(range(201, 233))
    unsigned = {k: v for k, v in BUNDLE.items() if k != "proof"}
    new_key = public_key_of(new_seed)
    both = create_proof(BUNDLE, new_seed,
                        f"did:citychain:platform#{calculate_kid(new_key).hex()}",
                        "2025-06-15T15:00:00Z")
    assert isinstance(both["proof"], list) and both.keys() == {*unsigned, "proof"}
    for key in (PLATFORM_KEY, new_key):
        assert open_trust_bundle(both, key, NOW).snapshot.block_number == 1234
