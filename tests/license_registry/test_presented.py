"""The two presented forms of a license (credential, city-code claims) and their parsing."""

from __future__ import annotations

import calendar
import copy
import json
from typing import Any

import cbor2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from license_registry.errors import FormatError, InvalidInput
from license_registry.identifiers import HolderIdType, salted_hash
from license_registry.license_types import (
    LICENSE_TYPES,
    MAX_TIME,
    FieldKind,
    LicenseMetadata,
    LicenseType,
    calculate_compact_value,
    get_license_type,
    parse_compact_value,
    truncate_utf8,
)
from license_registry.presented import (
    MAX_STATUS_NUMBER,
    PresentedLicense,
    build_city_code_claims,
    build_credential,
    datetime_text,
    parse_datetime_text,
    presented_from_claims,
    presented_from_credential,
)
from tests.license_registry.test_license_types import (
    CITIZEN_ID,
    COMPANY,
    DEPARTMENT,
    VALID_SUBJECTS,
)

CID = "urn:uuid:0f8fad5b-d9cb-469f-a165-70867728950e"
KID = bytes.fromhex("0123456789abcdef")
SALT = b"city registry salt, 32 bytes...!"
ISSUED = calendar.timegm((2024, 3, 1, 8, 0, 0))
BASE = "https://trust.city.example"
OTHER_USCI = "91350100M000100220"
DELETE = object()


def build_status_entries(number: int, index: int, usci: str = DEPARTMENT) -> list[dict[str, str]]:
    return [{"id": f"{BASE}/v1/status-lists/{usci}/{number}/{purpose}#{index}",
             "type": "BitstringStatusListEntry", "statusPurpose": purpose,
             "statusListIndex": str(index),
             "statusListCredential": f"{BASE}/v1/status-lists/{usci}/{number}/{purpose}"}
            for purpose in ("revocation", "suspension")]


def build_metadata(license_type: LicenseType, **changes: Any) -> LicenseMetadata:
    holder = COMPANY if license_type.holder_id_type is HolderIdType.USCI else CITIZEN_ID
    values: dict[str, Any] = {
        "license_number": "FZ-2024-000123", "license_type": license_type.code,
        "issuer_usci": DEPARTMENT, "issuer_name": "福州市示例局",
        "holder_id_type": license_type.holder_id_type, "holder_id": holder,
        "valid_from": ISSUED, "valid_until": ISSUED + license_type.default_validity,
        **changes}
    return LicenseMetadata(**values)


def make_credential(code: str = "CN-BL", subject: dict[str, Any] | None = None,
                    **changes: Any) -> dict[str, Any]:
    license_type = get_license_type(code)
    metadata = build_metadata(license_type, **changes)
    return build_credential(
        credential_id=CID, metadata=metadata, license_type=license_type,
        subject=VALID_SUBJECTS[code] if subject is None else subject,
        holder_salted_hash=salted_hash(metadata.holder_id, SALT), issued_at=ISSUED,
        status_entries=build_status_entries(3, 70_001))


def make_claims(code: str = "CN-BL", subject: dict[str, Any] | None = None,
                **changes: Any) -> dict[int, Any]:
    license_type = get_license_type(code)
    return build_city_code_claims(
        credential_id=CID, metadata=build_metadata(license_type, **changes),
        license_type=license_type, subject=VALID_SUBJECTS[code] if subject is None else subject,
        issued_at=ISSUED, status_list_number=3, status_index=70_001)


def build_largest_subject(license_type: LicenseType) -> dict[str, Any]:
    """Every field present at its maximum length, in 4-byte UTF-8 characters."""
    subject: dict[str, Any] = {}
    for spec in license_type.fields:
        if spec.kind is FieldKind.TEXT:
            subject[spec.name] = ("Wolfgang " + "\U00020000" * (spec.max_length - 9)
                                  if spec.personal else "\U00020000" * spec.max_length)
        elif spec.kind is FieldKind.INT:
            subject[spec.name] = spec.max_value
        elif spec.kind is FieldKind.DATE:
            subject[spec.name] = "2099-12-31"
        else:
            longest = sorted(spec.choices, key=len)[-max(spec.max_length, 1):]
            subject[spec.name] = longest if spec.kind is FieldKind.ENUM_LIST else longest[-1]
    return subject


def mutate(document: Any, path: tuple[Any, ...], value: Any) -> Any:
    changed = copy.deepcopy(document)
    target = changed
    for step in path[:-1]:
        target = target[step]
    if value is DELETE:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


def find_floats(value: Any) -> list[float]:
    if isinstance(value, float):
        return [value]
    if isinstance(value, dict):
        return [f for v in value.values() for f in find_floats(v)]
    if isinstance(value, list):
        return [f for v in value for f in find_floats(v)]
    return []


@pytest.mark.parametrize(("ts", "text"), [
    (0, "1970-01-01T00:00:00Z"),
    (1_700_000_000, "2023-11-14T22:13:20Z"),
    (951_782_400, "2000-02-29T00:00:00Z"),
    (MAX_TIME, "9999-12-31T23:59:59Z"),
])
def test_datetime_text(ts: int, text: str) -> None:
    assert datetime_text(ts) == text
    assert parse_datetime_text(text) == ts


@given(st.integers(min_value=0, max_value=MAX_TIME))
def test_datetime_text_round_trips(ts: int) -> None:
    assert parse_datetime_text(datetime_text(ts)) == ts


@pytest.mark.parametrize("text", [
    "2024-03-01T08:00:00+08:00", "2024-03-01T08:00:00.000Z", "2024-03-01 08:00:00Z",
    "2024-03-01T08:00:00z", "2024-03-01T08:00:00", "2024-02-30T00:00:00Z",
    "2024-03-01T24:00:00Z", "2016-12-31T23:59:60Z", "1969-12-31T23:59:59Z",
    "２０２４-03-01T08:00:00Z", "+2024-03-01T08:00:00Z", "", 1_709_280_000, None,
])
def test_parse_datetime_text_is_strict(text: object) -> None:
    with pytest.raises(FormatError) as caught:
        parse_datetime_text(text)
    assert caught.value.code == "bad_datetime"


@pytest.mark.parametrize("ts", [-1, MAX_TIME + 1, True, 1.0])
def test_datetime_text_refuses_times_it_cannot_show(ts: Any) -> None:
    with pytest.raises(InvalidInput):
        datetime_text(ts)


def test_credential_document() -> None:
    assert make_credential(scope="福州市") == {
        "@context": ["https://www.w3.org/ns/credentials/v2",
                     "https://citychain.example/contexts/e-license/v1"],
        "id": CID,
        "type": ["VerifiableCredential", "ElectronicLicense", "BusinessLicense"],
        "issuer": f"did:citychain:{DEPARTMENT}",
        "validFrom": "2024-03-01T08:00:00Z",
        "validUntil": "2044-03-01T08:00:00Z",  # default: 20 * 365 + 5 days
        "credentialSubject": {
            "id": f"urn:citychain:holder:{salted_hash(COMPANY, SALT)}",
            "holderIdType": "USCI",
            "holderIdMasked": COMPANY,
            "licenseNumber": "FZ-2024-000123",
            **VALID_SUBJECTS["CN-BL"],
        },
        "credentialStatus": build_status_entries(3, 70_001),
        "licenseMetadata": {
            "licenseTypeCode": "CN-BL", "licenseTypeName": "营业执照",
            "issuingAuthority": "福州市示例局", "issuingAuthorityCode": DEPARTMENT,
            "issued": "2024-03-01T08:00:00Z", "scope": "福州市",
        },
    }


def test_city_code_claims() -> None:
    assert make_claims("CN-DL", {"holderName": "欧阳小明", "vehicleClasses": ["C1", "A1"],
                                 "firstIssued": "2010-05-06"}) == {
        1: DEPARTMENT, 6: ISSUED, 5: ISSUED, 4: ISSUED + get_license_type("CN-DL").default_validity,
        7: bytes.fromhex("0f8fad5bd9cb469fa16570867728950e"),
        -70001: {1: "CN-DL", 2: "FZ-2024-000123", 3: "110105********002X", 4: [3, 70_001],
                 8: "欧*明", 9: 0b100001, 10: "2010-05-06"},
    }


@pytest.mark.parametrize("code", ["CN-PQC", "CN-DL"])
def test_no_raw_personal_identifier_in_either_form(code: str) -> None:
    credential, claims = make_credential(code), make_claims(code)
    for text in (json.dumps(credential), json.dumps(credential, ensure_ascii=False),
                 repr(claims), cbor2.dumps(claims).decode("latin-1")):
        assert CITIZEN_ID not in text and CITIZEN_ID.lower() not in text
        assert "19491231" not in text  # the birth date inside the ID is masked too
    assert credential["credentialSubject"]["holderIdMasked"] == "110105********002X"
    assert claims[-70001][3] == "110105********002X"


@pytest.mark.parametrize("license_type", LICENSE_TYPES, ids=lambda t: t.code)
def test_no_floats_and_round_trip_of_both_forms(license_type: LicenseType) -> None:
    code = license_type.code
    credential, claims = make_credential(code), make_claims(code)
    assert find_floats(credential) == [] and find_floats(claims) == []
    common = dict(
        credential_id=CID, issuer=DEPARTMENT, license_type=code, license_number="FZ-2024-000123",
        issued_at=ISSUED, valid_from=ISSUED, valid_until=ISSUED + license_type.default_validity,
        status_list_number=3, status_index=70_001, holder_id_type=license_type.holder_id_type,
        holder_display=claims[-70001][3])
    full = presented_from_credential(json.loads(json.dumps(credential)))
    assert full == PresentedLicense(**common, subject=VALID_SUBJECTS[code])
    compact = presented_from_claims(cbor2.loads(cbor2.dumps(claims)), KID)
    shown = {spec.name: VALID_SUBJECTS[code][spec.name] for spec in license_type.fields
             if spec.compact_key is not None and spec.name in VALID_SUBJECTS[code]}
    if "holderName" in shown:
        shown["holderName"] = shown["holderName"][0] + "*"  # two-character names
    if "legalRepresentative" in shown:
        shown["legalRepresentative"] = "张*三"
    assert compact == PresentedLicense(**common, subject=shown, kid=KID)


@pytest.mark.parametrize("license_type", LICENSE_TYPES, ids=lambda t: t.code)
def test_largest_claims_stay_within_the_qr_budget(license_type: LicenseType) -> None:
    subject = build_largest_subject(license_type)
    metadata = build_metadata(license_type, license_number="Z" * 64, issuer_name="局" * 100,
                              scope="范" * 200, valid_from=MAX_TIME - license_type.max_validity,
                              valid_until=MAX_TIME)
    claims = build_city_code_claims(
        credential_id="urn:uuid:ffffffff-ffff-4fff-bfff-ffffffffffff", metadata=metadata,
        license_type=license_type, subject=subject, issued_at=MAX_TIME,
        status_list_number=MAX_STATUS_NUMBER, status_index=MAX_STATUS_NUMBER)
    assert len(cbor2.dumps(claims)) <= 260  # ≈ 370 Base45 characters once signed
    presented = presented_from_claims(cbor2.loads(cbor2.dumps(claims)), KID)
    assert presented.valid_until == MAX_TIME
    # Signed and encoded, the largest license of every type stays within 600 characters.
    from license_registry.city_code import encode_city_code
    from license_registry.keys import generate_signing_key

    code = encode_city_code(claims, KID, generate_signing_key())
    assert len(code) <= 600, (license_type.code, len(code))


def test_a_proof_gives_the_verification_method_and_kid() -> None:
    method = f"did:citychain:{DEPARTMENT}#0123456789abcdef"
    proof = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
             "verificationMethod": method, "proofPurpose": "assertionMethod",
             "proofValue": "z3yM"}
    sm2 = {"type": "DataIntegrityProof", "cryptosuite": "sm2-jcs-2024", "proofValue": "z1"}
    for attached in (proof, [sm2, proof]):
        presented = presented_from_credential({**make_credential(), "proof": attached})
        assert (presented.verification_method, presented.kid) == (method, KID)
    assert presented_from_credential({**make_credential(), "proof": sm2}).kid is None


@pytest.mark.parametrize(("text", "budget", "expected"), [
    ("福州示例", 12, "福州示例"),
    ("福州示例科技", 12, "福州示…"),  # 9 bytes kept + 3 for the ellipsis
    ("ab\U00020000cd", 6, "ab…"),  # never half a character
    ("abcdefgh", 6, "abc…"),
])
def test_truncate_utf8(text: str, budget: int, expected: str) -> None:
    assert truncate_utf8(text, budget) == expected
    assert len(truncate_utf8(text, budget).encode()) <= budget


def test_compact_values_round_trip() -> None:
    dl = get_license_type("CN-DL")
    classes = dl.field_spec("vehicleClasses")
    assert classes is not None
    mask = calculate_compact_value(classes, ["A1", "C1", "P"])
    assert mask == 1 | 1 << 5 | 1 << 16
    assert parse_compact_value(classes, mask) == ["A1", "C1", "P"]
    level = get_license_type("CN-PQC").field_spec("level")
    assert level is not None
    assert parse_compact_value(level, calculate_compact_value(level, "SENIOR")) == "SENIOR"


CREDENTIAL_ERRORS = [
    ((), [], "credential"),
    (("extra",), 1, "credential"),
    (("@context",), ["https://www.w3.org/2018/credentials/v1",
                     "https://citychain.example/contexts/e-license/v1"], "@context"),
    (("id",), "urn:uuid:0F8FAD5B-D9CB-469F-A165-70867728950E", "id"),
    (("id",), DELETE, "id"),
    (("type",), ["VerifiableCredential", "ElectronicLicense", "DrivingLicense"], "type"),
    (("issuer",), f"did:example:{DEPARTMENT}", "issuer"),
    (("issuer",), "did:citychain:91110000600037341A", "issuer"),
    (("issuer",), {"id": f"did:citychain:{DEPARTMENT}"}, "issuer"),
    (("validFrom",), "2024-03-01T08:00:00+08:00", "validFrom"),
    (("validUntil",), "2024-03-01T08:00:00Z", "validUntil"),
    (("validUntil",), "2099-03-01T08:00:00Z", "validUntil"),  # beyond 30 years
    (("validUntil",), DELETE, "validUntil"),
    (("licenseMetadata",), DELETE, "licenseMetadata"),
    (("licenseMetadata", "licenseTypeCode"), "CN-XX", "licenseMetadata.licenseTypeCode"),
    (("licenseMetadata", "licenseTypeName"), "Business License", "licenseMetadata.licenseTypeName"),
    (("licenseMetadata", "issuingAuthorityCode"), COMPANY, "licenseMetadata.issuingAuthorityCode"),
    (("licenseMetadata", "issuingAuthority"), "", "licenseMetadata.issuingAuthority"),
    (("licenseMetadata", "issued"), ISSUED, "licenseMetadata.issued"),
    (("licenseMetadata", "extra"), "x", "licenseMetadata"),
    (("credentialSubject",), "holder", "credentialSubject"),
    (("credentialSubject", "id"), "urn:citychain:holder:" + "A" * 64, "credentialSubject.id"),
    (("credentialSubject", "id"), f"did:citychain:{COMPANY}", "credentialSubject.id"),
    (("credentialSubject", "holderIdType"), "CITIZEN_ID", "credentialSubject.holderIdType"),
    (("credentialSubject", "holderIdMasked"), "91350100M000100Y44",
     "credentialSubject.holderIdMasked"),
    (("credentialSubject", "licenseNumber"), "FZ 2024", "credentialSubject.licenseNumber"),
    (("credentialSubject", "registeredCapital"), 1000.0, "credentialSubject.registeredCapital"),
    (("credentialSubject", "address"), DELETE, "credentialSubject.address"),
    (("credentialSubject", "nickname"), "x", "credentialSubject.nickname"),
    (("credentialStatus",), [], "credentialStatus"),
    (("credentialStatus", 1), DELETE, "credentialStatus"),
    (("credentialStatus", 0), "entry", "credentialStatus[0]"),
    (("credentialStatus", 0, "statusListIndex"), "070001", "credentialStatus[0].statusListIndex"),
    (("credentialStatus", 0, "statusListIndex"), 70_001, "credentialStatus[0].statusListIndex"),
    (("credentialStatus", 1, "statusListIndex"), "70002", "credentialStatus"),
    (("credentialStatus", 1, "statusPurpose"), "revocation", "credentialStatus[1].statusPurpose"),
    (("credentialStatus", 0, "type"), "StatusList2021Entry", "credentialStatus[0].type"),
    (("credentialStatus", 0, "statusMessage"), [], "credentialStatus[0]"),
    (("credentialStatus", 0, "statusListCredential"),
     f"{BASE}/v1/status-lists/{OTHER_USCI}/3/revocation",
     "credentialStatus[0].statusListCredential"),
    (("credentialStatus", 0, "statusListCredential"),
     f"{BASE}/v1/status-lists/{DEPARTMENT}/3/suspension",
     "credentialStatus[0].statusListCredential"),
    (("credentialStatus", 0, "statusListCredential"), f"{BASE}/lists/3",
     "credentialStatus[0].statusListCredential"),
    (("proof",), {"cryptosuite": "eddsa-jcs-2022", "verificationMethod": "did:citychain:X#00"},
     "proof.verificationMethod"),
    (("proof",), [{"cryptosuite": "eddsa-jcs-2022"}] * 2, "proof"),
]


@pytest.mark.parametrize(("path", "value", "field"), CREDENTIAL_ERRORS)
def test_malformed_credential_names_the_field(path: tuple[Any, ...], value: Any,
                                              field: str) -> None:
    credential = make_credential()
    document = value if path == () else mutate(credential, path, value)
    with pytest.raises(FormatError) as caught:
        presented_from_credential(document)
    assert (caught.value.code, caught.value.field) == ("bad_credential", field)
    assert caught.value.message.startswith(f"credential field {field}: ")


def test_credential_error_message_says_what_is_wrong() -> None:
    document = mutate(make_credential(), ("credentialStatus", 1, "statusListIndex"), "70002")
    with pytest.raises(FormatError) as caught:
        presented_from_credential(document)
    assert caught.value.message == (
        "credential field credentialStatus: revocation and suspension entries must use the "
        "same list base, list number and index")


CLAIMS_ERRORS = [
    ("CN-BL", (), [], "claims"),
    ("CN-BL", (8,), 1, "claims"),
    ("CN-BL", (1,), "91110000600037341A", "1 (iss)"),
    ("CN-BL", (1,), DELETE, "1 (iss)"),
    ("CN-BL", (6,), 1.7e9, "6 (iat)"),
    ("CN-BL", (6,), True, "6 (iat)"),
    ("CN-BL", (5,), -1, "5 (nbf)"),
    ("CN-BL", (4,), ISSUED, "4 (exp)"),
    ("CN-BL", (7,), b"x" * 15, "7 (cti)"),
    ("CN-BL", (7,), CID, "7 (cti)"),
    ("CN-BL", (-70001,), [], "-70001 (license)"),
    ("CN-BL", (-70001, 12), "x", "-70001 (license)"),
    ("CN-BL", (-70001, 1), "CN-XX", "license.1 (type)"),
    ("CN-BL", (-70001, 2), "", "license.2 (number)"),
    ("CN-BL", (-70001, 3), "91350100M000100Y44", "license.3 (holder)"),
    ("CN-PQC", (-70001, 3), CITIZEN_ID, "license.3 (holder)"),  # a raw ID is never accepted
    ("CN-BL", (-70001, 4), [3], "license.4 (status)"),
    ("CN-BL", (-70001, 4), [3, -1], "license.4 (status)"),
    ("CN-BL", (-70001, 4), [3, True], "license.4 (status)"),
    ("CN-BL", (-70001, 4), [3, MAX_STATUS_NUMBER + 1], "license.4 (status)"),
    ("CN-BL", (-70001, 8), DELETE, "license.8"),
    ("CN-BL", (-70001, 8), "示" * 17, "license.8"),
    ("CN-BL", (-70001, 8), "示例\x00", "license.8"),
    ("CN-FBL", (-70001, 9), 3, "license.9"),
    ("CN-FBL", (-70001, 9), "CATERING", "license.9"),
    ("CN-DL", (-70001, 9), 0, "license.9"),
    ("CN-DL", (-70001, 9), 1 << 17, "license.9"),
    ("CN-DL", (-70001, 9), 0b111111111, "license.9"),  # nine classes, eight allowed
    ("CN-DL", (-70001, 10), "2010-13-01", "license.10"),
]


@pytest.mark.parametrize(("code", "path", "value", "field"), CLAIMS_ERRORS)
def test_malformed_claims_name_the_claim(code: str, path: tuple[Any, ...], value: Any,
                                         field: str) -> None:
    claims = make_claims(code)
    document = value if path == () else mutate(claims, path, value)
    with pytest.raises(FormatError) as caught:
        presented_from_claims(document, KID)
    assert (caught.value.code, caught.value.field) == ("bad_claims", field)


@pytest.mark.parametrize("kid", [b"", KID[:7], KID + b"\x00", KID.hex()])
def test_claims_need_an_eight_byte_kid(kid: Any) -> None:
    with pytest.raises(FormatError) as caught:
        presented_from_claims(make_claims(), kid)
    assert caught.value.message == "city code field kid: must be 8 bytes"


BUILD_ERRORS = [
    ({"credential_id": CID.upper()}, "credentialId"),
    ({"credential_id": CID[len("urn:uuid:"):]}, "credentialId"),
    ({"license_type": get_license_type("CN-FBL")}, "licenseType"),
    ({"holder_salted_hash": "A" * 64}, "holderSaltedHash"),
    ({"holder_salted_hash": CITIZEN_ID}, "holderSaltedHash"),
    ({"issued_at": -1}, "issuedAt"),
    ({"subject": {**VALID_SUBJECTS["CN-BL"], "registeredCapital": 1e7}}, "registeredCapital"),
    ({"status_entries": build_status_entries(3, 1)[:1]}, "credentialStatus"),
    ({"status_entries": build_status_entries(3, 1, OTHER_USCI)}, "credentialStatus"),
    ({"status_entries": [*build_status_entries(3, 1)[:1], *build_status_entries(4, 1)[1:]]},
     "credentialStatus"),
]


@pytest.mark.parametrize(("changes", "field"), BUILD_ERRORS)
def test_build_credential_refuses_bad_input(changes: dict[str, Any], field: str) -> None:
    license_type = get_license_type("CN-BL")
    arguments: dict[str, Any] = {
        "credential_id": CID, "metadata": build_metadata(license_type),
        "license_type": license_type, "subject": VALID_SUBJECTS["CN-BL"],
        "holder_salted_hash": salted_hash(COMPANY, SALT), "issued_at": ISSUED,
        "status_entries": build_status_entries(3, 1), **changes}
    with pytest.raises(InvalidInput) as caught:
        build_credential(**arguments)
    assert caught.value.field == field


@pytest.mark.parametrize(("number", "index", "field"), [
    (-1, 0, "statusListNumber"), (0, MAX_STATUS_NUMBER + 1, "statusIndex"),
    (True, 0, "statusListNumber"),
])
def test_build_claims_refuses_bad_status_positions(number: int, index: int, field: str) -> None:
    license_type = get_license_type("CN-BL")
    with pytest.raises(InvalidInput) as caught:
        build_city_code_claims(credential_id=CID, metadata=build_metadata(license_type),
                               license_type=license_type, subject=VALID_SUBJECTS["CN-BL"],
                               issued_at=ISSUED, status_list_number=number, status_index=index)
    assert caught.value.field == field
