"""Credit record types: the catalogue, and every way content can fail its schema."""

from __future__ import annotations

from typing import Any

import pytest

from credit_ledger.record_types import (
    RECORD_TYPE_CODES,
    RECORD_TYPES,
    ContentKind,
    get_record_type,
    is_decimal_amount,
    validate_content,
)
from license_registry.errors import InvalidInput
from tests.credit_ledger.samples import CONTENT


def test_catalogue_codes_and_names() -> None:
    assert RECORD_TYPE_CODES == ("CR-LIC", "CR-PEN", "CR-COM", "CR-RAT", "CR-TAX", "CR-JUD")
    assert [(t.name_zh, t.name_en) for t in RECORD_TYPES] == [
        ("行政许可", "Administrative license"), ("行政处罚", "Administrative penalty"),
        ("表彰奖励", "Commendation"), ("信用评级", "Credit rating"),
        ("纳税信用等级", "Tax credit grade"), ("司法判决", "Court judgment")]
    assert get_record_type("CR-RAT").fields[0].choices == ("A", "B", "C", "D")
    assert get_record_type("CR-TAX").fields[0].choices == ("A", "B", "M", "C", "D")


def test_no_float_fields_anywhere() -> None:
    kinds = {f.kind for t in RECORD_TYPES for f in t.fields}
    assert kinds == {ContentKind.TEXT, ContentKind.INT, ContentKind.DATE, ContentKind.ENUM,
                     ContentKind.DECIMAL}


@pytest.mark.parametrize("code", RECORD_TYPE_CODES)
def test_sample_content_is_valid_and_kept(code: str) -> None:
    assert validate_content(code, CONTENT[code]) == CONTENT[code]


def test_normalizes_text_and_drops_nulls() -> None:
    content = {**CONTENT["CR-COM"], "title": "  守合同重信用企业 ", "description": None}
    assert validate_content("CR-COM", content) == CONTENT["CR-COM"]


def test_keeps_schema_order() -> None:
    shuffled = dict(reversed(list(CONTENT["CR-JUD"].items())))
    assert list(validate_content("CR-JUD", shuffled)) == list(CONTENT["CR-JUD"])


REQUIRED = [(t.code, f.name) for t in RECORD_TYPES for f in t.fields if f.required]


@pytest.mark.parametrize(("code", "name"), REQUIRED)
def test_every_required_field_is_named_when_missing(code: str, name: str) -> None:
    content = {k: v for k, v in CONTENT[code].items() if k != name}
    with pytest.raises(InvalidInput) as caught:
        validate_content(code, content)
    assert caught.value.field == name
    assert f"{name} is required" in caught.value.message


def test_required_fields_per_type() -> None:
    assert {code: [n for c, n in REQUIRED if c == code] for code in RECORD_TYPE_CODES} == {
        "CR-LIC": ["licenseNumber", "licenseName", "issuingAuthority", "decisionDate",
                   "licenseStatus"],
        "CR-PEN": ["decisionNumber", "violation", "legalBasis", "penaltyKind", "decisionDate",
                   "status"],
        "CR-COM": ["title", "awardingAuthority", "level", "awardDate"],
        "CR-RAT": ["grade", "ratingAgency", "ratingDate"],
        "CR-TAX": ["grade", "assessmentYear", "taxAuthority"],
        "CR-JUD": ["caseNumber", "court", "caseType", "role", "judgmentDate", "outcome"],
    }


# (record type, field, bad value, field named, words in the message)
BAD_VALUES: list[tuple[str, str, Any, str, str]] = [
    ("CR-LIC", "licenseNumber", 12345, "licenseNumber", "must be text"),
    ("CR-LIC", "licenseNumber", "x" * 65, "licenseNumber", "at most 64"),
    ("CR-LIC", "licenseName", "   ", "licenseName", "must not be empty"),
    ("CR-LIC", "issuingAuthority", "市\x07局", "issuingAuthority", "control character"),
    ("CR-LIC", "decisionDate", "2025-02-30", "decisionDate", "not a date"),
    ("CR-LIC", "decisionDate", "2025/01/02", "decisionDate", "not a date"),
    ("CR-LIC", "validUntil", 20250102, "validUntil", "not a date"),
    ("CR-LIC", "licenseStatus", "valid", "licenseStatus", "not one of"),
    ("CR-PEN", "penaltyKind", "JAIL", "penaltyKind", "not one of"),
    ("CR-PEN", "fineAmount", 50000.0, "fineAmount", "decimal string"),
    ("CR-PEN", "fineAmount", 50000, "fineAmount", "decimal string"),
    ("CR-PEN", "fineAmount", "50000", "fineAmount", "two places"),
    ("CR-PEN", "fineAmount", "50000.5", "fineAmount", "two places"),
    ("CR-PEN", "fineAmount", "-1.00", "fineAmount", "no sign"),
    ("CR-PEN", "fineAmount", "0050.00", "fineAmount", "50000.00"),
    ("CR-PEN", "fineAmount", "1e5", "fineAmount", "50000.00"),
    ("CR-PEN", "fineAmount", "1234567890123456.00", "fineAmount", "15 digits"),
    ("CR-PEN", "violation", "违" * 501, "violation", "at most 500"),
    ("CR-PEN", "status", "CLOSED", "status", "not one of"),
    ("CR-COM", "level", "GLOBAL", "level", "not one of"),
    ("CR-COM", "description", "", "description", "must not be empty"),
    ("CR-RAT", "grade", "AAA", "grade", "not one of"),
    ("CR-RAT", "grade", "a", "grade", "not one of"),
    ("CR-RAT", "score", "880", "score", "must be an integer"),
    ("CR-RAT", "score", True, "score", "must be an integer"),
    ("CR-RAT", "score", 1001, "score", "allowed 0-1000"),
    ("CR-RAT", "score", 880.0, "score", "must be an integer"),
    ("CR-TAX", "grade", "E", "grade", "not one of"),
    ("CR-TAX", "assessmentYear", 2013, "assessmentYear", "allowed 2014-2100"),
    ("CR-TAX", "assessmentYear", "2024", "assessmentYear", "must be an integer"),
    ("CR-JUD", "caseType", "FAMILY", "caseType", "not one of"),
    ("CR-JUD", "role", None, "role", "is required"),
    ("CR-JUD", "amount", "1,200,000.00", "amount", "decimal string"),
    ("CR-JUD", "court", ["某法院"], "court", "must be text"),
]


@pytest.mark.parametrize(("code", "name", "value", "named", "words"), BAD_VALUES)
def test_every_bad_value_is_named(code: str, name: str, value: Any, named: str,
                                  words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_content(code, {**CONTENT[code], name: value})
    assert caught.value.field == named
    assert words in caught.value.message


@pytest.mark.parametrize(("code", "content", "named", "words"), [
    ("CR-XYZ", {}, "recordType", "not a credit record type"),
    (None, {}, "recordType", "not a credit record type"),
    ("CR-RAT", ["grade", "A"], "content", "must be an object"),
    ("CR-RAT", {**CONTENT["CR-RAT"], "outlook": "stable"}, "outlook", "unknown field"),
    ("CR-TAX", {**CONTENT["CR-TAX"], "grade ": "A"}, "grade ", "unknown field"),
])
def test_bad_type_or_shape_is_named(code: Any, content: Any, named: str, words: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validate_content(code, content)
    assert caught.value.field == named
    assert words in caught.value.message


@pytest.mark.parametrize(("value", "expected"), [
    ("0.00", True), ("50000.00", True), ("999999999999999.99", True),
    ("0.0", False), (".50", False), ("1.000", False), ("+1.00", False), ("1.00 ", False),
    ("１.００", False), (1.0, False), (None, False),
])
def test_decimal_amount_shape(value: object, expected: bool) -> None:
    assert is_decimal_amount(value) is expected
