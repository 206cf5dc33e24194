"""The license catalogue, subject schemas and GB/T 36903 metadata."""

from __future__ import annotations

import calendar
from typing import Any

import pytest

from license_registry.errors import InvalidIdentifier, InvalidInput
from license_registry.identifiers import HolderIdType
from license_registry.license_types import (
    DAY,
    LICENSE_TYPES,
    FieldKind,
    LicenseMetadata,
    calculate_validity_seconds,
    get_license_type,
    license_type_bytes32,
    license_type_from_bytes32,
    validate_subject,
)

DEPARTMENT = "91110000600037341L"
COMPANY = "91350100M000100Y43"
CITIZEN_ID = "11010519491231002X"
T2024 = calendar.timegm((2024, 1, 1, 0, 0, 0))

VALID_SUBJECTS: dict[str, dict[str, Any]] = {
    "CN-BL": {"enterpriseName": "福州示例科技有限公司", "legalRepresentative": "张小三",
              "registeredCapital": "1000万元", "businessScope": "软件开发；信息技术咨询服务",
              "address": "福建省福州市鼓楼区示例路1号"},
    "CN-FBL": {"enterpriseName": "示例餐饮有限公司", "operatorCategory": "CATERING",
               "businessScope": "热食类食品制售", "premises": "示例路2号一层"},
    "CN-CP": {"projectName": "示例大厦", "builder": "示例置业有限公司",
              "location": "示例路3号", "contractAmount": "3500万元"},
    "CN-PQC": {"holderName": "李四", "qualification": "高级工程师", "specialty": "土木工程",
               "level": "SENIOR"},
    "CN-DL": {"holderName": "王五", "vehicleClasses": ["C1"], "firstIssued": "2010-05-06"},
}
HOLDERS = {HolderIdType.USCI: COMPANY, HolderIdType.CITIZEN_ID: CITIZEN_ID}


def build_metadata(code: str = "CN-BL", **changes: Any) -> LicenseMetadata:
    license_type = get_license_type(code)
    values: dict[str, Any] = {
        "license_number": "BL-2024-000001", "license_type": code, "issuer_usci": DEPARTMENT,
        "issuer_name": "市市场监督管理局", "holder_id_type": license_type.holder_id_type,
        "holder_id": HOLDERS[license_type.holder_id_type], "valid_from": T2024,
        "valid_until": T2024 + license_type.default_validity}
    values.update(changes)
    return LicenseMetadata(**values)


def test_catalogue_has_the_five_types_with_their_holders() -> None:
    assert {t.code: (t.name_zh, t.holder_id_type) for t in LICENSE_TYPES} == {
        "CN-BL": ("营业执照", HolderIdType.USCI),
        "CN-FBL": ("食品经营许可证", HolderIdType.USCI),
        "CN-CP": ("建筑工程施工许可证", HolderIdType.USCI),
        "CN-PQC": ("专业技术资格证书", HolderIdType.CITIZEN_ID),
        "CN-DL": ("机动车驾驶证", HolderIdType.CITIZEN_ID),
    }
    assert get_license_type("CN-BL").max_validity_years == 30


@pytest.mark.parametrize("license_type", LICENSE_TYPES, ids=lambda t: t.code)
def test_catalogue_entries_are_consistent(license_type: Any) -> None:
    names = [f.name for f in license_type.fields]
    assert len(names) == len(set(names))
    assert not set(names) & {"id", "holderIdType", "holderIdMasked", "licenseNumber"}
    keys = [f.compact_key for f in license_type.fields if f.compact_key is not None]
    assert len(keys) == len(set(keys)) and all(8 <= k <= 23 for k in keys)  # one CBOR byte
    for spec in license_type.fields:
        if spec.kind is FieldKind.TEXT:
            assert spec.max_length > 0
            assert (spec.compact_key is None) == (spec.compact_bytes == 0)
        if spec.personal:
            assert spec.kind is FieldKind.TEXT
    assert 0 < license_type.default_validity <= license_type.max_validity
    assert license_type.code.isascii() and license_type.name_en.isascii()
    assert validate_subject(license_type, VALID_SUBJECTS[license_type.code])


@pytest.mark.parametrize(("years", "days"), [(1, 366), (4, 1461), (5, 1827), (30, 10958)])
def test_validity_years_fit_any_calendar_window(years: int, days: int) -> None:
    assert calculate_validity_seconds(years) == days * DAY


def test_license_type_bytes32_round_trip() -> None:
    raw = license_type_bytes32("CN-FBL")
    assert raw == b"CN-FBL" + bytes(26)
    assert license_type_from_bytes32(raw) == "CN-FBL"
    assert license_type_from_bytes32(license_type_bytes32("X" * 32)) == "X" * 32


@pytest.mark.parametrize("code", ["", "X" * 33, "营业执照", "CN\x00BL"])
def test_license_type_bytes32_refuses_bad_codes(code: str) -> None:
    with pytest.raises(InvalidInput, match="must be 1-32 ASCII characters"):
        license_type_bytes32(code)


@pytest.mark.parametrize("raw", [bytes(32), b"CN-BL" + bytes(26), b"CN\x00BL" + bytes(27),
                                 b"\x00CN-BL" + bytes(26), "营".encode() + bytes(29)])
def test_license_type_from_bytes32_refuses_malformed(raw: bytes) -> None:
    with pytest.raises(InvalidInput, match="ASCII, left-aligned, zero-padded"):
        license_type_from_bytes32(raw)


def test_unknown_license_type_names_the_known_ones() -> None:
    with pytest.raises(InvalidInput) as caught:
        get_license_type("CN-XX")
    assert caught.value.message == ("licenseType 'CN-XX' is not in the catalogue; known types: "
                                    "CN-BL, CN-FBL, CN-CP, CN-PQC, CN-DL")
    assert caught.value.code == "unknown_license_type"


def test_validate_subject_normalizes() -> None:
    data = {**VALID_SUBJECTS["CN-BL"], "enterpriseName": "  Cafe\u0301 有限公司 ",
            "establishedDate": "2001-02-03", "enterpriseType": None}
    subject = validate_subject(get_license_type("CN-BL"), data)
    assert subject["enterpriseName"] == "Caf\u00e9 有限公司"  # stripped, NFC
    assert list(subject) == ["enterpriseName", "legalRepresentative", "registeredCapital",
                             "establishedDate", "businessScope", "address"]  # schema order
    dl = {**VALID_SUBJECTS["CN-DL"], "vehicleClasses": ["C2", "A1", "B2"]}
    assert validate_subject(get_license_type("CN-DL"), dl)["vehicleClasses"] == ["A1", "B2", "C2"]
    cp = {**VALID_SUBJECTS["CN-CP"], "floorArea": 12000}
    assert validate_subject(get_license_type("CN-CP"), cp)["floorArea"] == 12000


SUBJECT_ERRORS = [
    ("CN-BL", {"nickname": "x"}, "nickname",
     "unknown field 'nickname' for Business License (CN-BL); known fields: enterpriseName, "
     "legalRepresentative, enterpriseType, registeredCapital, establishedDate, businessScope, "
     "address"),
    ("CN-BL", {"address": None}, "address", "address is required for Business License"),
    ("CN-BL", {"enterpriseName": "x" * 101}, "enterpriseName",
     "enterpriseName is 101 characters, at most 100 allowed"),
    ("CN-BL", {"registeredCapital": 1000.0}, "registeredCapital",
     "registeredCapital must be text, got float"),
    ("CN-BL", {"address": "   "}, "address", "address must not be empty; leave it out if optional"),
    ("CN-BL", {"address": "示例路\n1号"}, "address", "address has a control character at position 4"),
    ("CN-BL", {"enterpriseName": "示例\u202e公司"}, "enterpriseName",
     "enterpriseName has a control character at position 3"),  # bidi override hides text
    ("CN-BL", {"establishedDate": "2001-02-30"}, "establishedDate",
     "establishedDate '2001-02-30' is not a date YYYY-MM-DD"),
    ("CN-BL", {"establishedDate": "20010203"}, "establishedDate",
     "establishedDate '20010203' is not a date YYYY-MM-DD"),
    ("CN-FBL", {"operatorCategory": "catering"}, "operatorCategory",
     "operatorCategory 'catering' is not one of SALES, CATERING, CANTEEN"),
    ("CN-FBL", {"premises": None}, "premises", "premises is required for Food Business License"),
    ("CN-CP", {"floorArea": "12000"}, "floorArea", "floorArea must be an integer, got str"),
    ("CN-CP", {"floorArea": True}, "floorArea", "floorArea must be an integer, got bool"),
    ("CN-CP", {"floorArea": 1.5}, "floorArea", "floorArea must be an integer, got float"),
    ("CN-CP", {"floorArea": 0}, "floorArea", "floorArea is 0, allowed 1-100000000"),
    ("CN-PQC", {"level": "EXPERT"}, "level",
     "level 'EXPERT' is not one of JUNIOR, INTERMEDIATE, SUB_SENIOR, SENIOR"),
    ("CN-PQC", {"holderName": "x" * 51}, "holderName",
     "holderName is 51 characters, at most 50 allowed"),
    ("CN-DL", {"vehicleClasses": "C1"}, "vehicleClasses",
     "vehicleClasses must be a non-empty list of A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, C6, D, "
     "E, F, M, N, P"),
    ("CN-DL", {"vehicleClasses": []}, "vehicleClasses",
     "vehicleClasses must be a non-empty list of A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, C6, D, "
     "E, F, M, N, P"),
    ("CN-DL", {"vehicleClasses": ["C1", "Z9"]}, "vehicleClasses",
     "vehicleClasses has 'Z9', not one of A1, A2, A3, B1, B2, C1, C2, C3, C4, C5, C6, D, E, F, "
     "M, N, P"),
    ("CN-DL", {"vehicleClasses": ["C1", "C1"]}, "vehicleClasses",
     "vehicleClasses lists a value twice"),
    ("CN-DL", {"vehicleClasses": ["A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4"]},
     "vehicleClasses", "vehicleClasses has 9 items, at most 8 allowed"),
    ("CN-DL", {"firstIssued": 20100506}, "firstIssued",
     "firstIssued 20100506 is not a date YYYY-MM-DD"),
]


@pytest.mark.parametrize(("code", "changes", "field", "message"), SUBJECT_ERRORS)
def test_validate_subject_names_the_bad_field(code: str, changes: dict[str, Any], field: str,
                                              message: str) -> None:
    data = {**VALID_SUBJECTS[code], **changes}
    with pytest.raises(InvalidInput) as caught:
        validate_subject(get_license_type(code), data)
    assert (caught.value.field, caught.value.message) == (field, message)


def test_validate_subject_needs_an_object() -> None:
    with pytest.raises(InvalidInput, match="subject must be an object of fields"):
        validate_subject(get_license_type("CN-BL"), [("enterpriseName", "x")])


def test_metadata_normalizes_and_hides_the_holder_id() -> None:
    metadata = build_metadata("CN-PQC", issuer_usci=DEPARTMENT.lower(),
                              holder_id=CITIZEN_ID.lower(), holder_id_type="CITIZEN_ID",
                              issuer_name=" 市人力资源和社会保障局 ")
    assert metadata.issuer_usci == DEPARTMENT
    assert metadata.holder_id == CITIZEN_ID
    assert metadata.holder_id_type is HolderIdType.CITIZEN_ID
    assert metadata.issuer_name == "市人力资源和社会保障局"
    assert CITIZEN_ID not in repr(metadata) and "holder_id=" not in repr(metadata)


def test_a_window_of_the_maximum_calendar_years_is_accepted() -> None:
    until = calendar.timegm((2054, 1, 1, 0, 0, 0))  # 30 calendar years, 8 leap days
    assert build_metadata("CN-BL", valid_until=until).valid_until == until


METADATA_ERRORS = [
    ({"license_number": ""}, InvalidInput, "licenseNumber",
     "licenseNumber '' must be 1-64 characters of A-Z, a-z, 0-9 and -"),
    ({"license_number": "A" * 65}, InvalidInput, "licenseNumber", None),
    ({"license_number": "BL 2024"}, InvalidInput, "licenseNumber", None),
    ({"license_number": "BL_2024"}, InvalidInput, "licenseNumber", None),
    ({"license_number": "营业2024"}, InvalidInput, "licenseNumber", None),
    ({"license_type": "CN-XX"}, InvalidInput, "licenseType", None),
    ({"issuer_usci": "91110000600037341A"}, InvalidIdentifier, "issuerUsci",
     "issuerUsci check character expected 'L' got 'A'; re-read the code from the license"),
    ({"issuer_name": "  "}, InvalidInput, "issuerName",
     "issuerName must be text of 1-100 characters without control characters"),
    ({"issuer_name": "市\u202e局"}, InvalidInput, "issuerName", None),  # bidi override
    ({"holder_id_type": HolderIdType.CITIZEN_ID, "holder_id": CITIZEN_ID}, InvalidInput,
     "holderIdType", "holderIdType CITIZEN_ID does not fit CN-BL, whose holders are "
                     "identified by USCI"),
    ({"holder_id": "91350100M000100Y44"}, InvalidIdentifier, "holderId", None),
    ({"scope": "x" * 201}, InvalidInput, "scope",
     "scope must be text of 0-200 characters without control characters"),
    ({"valid_until": T2024}, InvalidInput, "validUntil",
     f"validUntil {T2024} must be after validFrom {T2024}"),
    ({"valid_until": T2024 - 1}, InvalidInput, "validUntil", None),
    ({"valid_until": T2024 + calculate_validity_seconds(30) + 1}, InvalidInput, "validUntil",
     "validity of 10958 days exceeds the 30 years allowed for Business License"),
    ({"valid_from": -1}, InvalidInput, "validFrom",
     "validFrom must be unix seconds from 0 to 253402300799, got -1"),
    ({"valid_from": True}, InvalidInput, "validFrom", None),
    ({"valid_until": float(T2024 + DAY)}, InvalidInput, "validUntil", None),
]


@pytest.mark.parametrize(("changes", "error", "field", "message"), METADATA_ERRORS)
def test_metadata_is_validated(changes: dict[str, Any], error: type[Exception], field: str,
                               message: str | None) -> None:
    with pytest.raises(error) as caught:
        build_metadata("CN-BL", **changes)
    assert isinstance(caught.value, InvalidInput)
    assert caught.value.field == field
    if message is not None:
        assert caught.value.message == message


def test_food_license_is_limited_to_five_years() -> None:
    with pytest.raises(InvalidInput, match="exceeds the 5 years allowed for Food Business"):
        build_metadata("CN-FBL", valid_until=T2024 + calculate_validity_seconds(5) + 1)
