"""Credit record types and the schema of each type's content.

The codes are also the on-chain TrustList accreditation codes that let a department
record a type, so they never change meaning. Content is strict JSON without floats:
amounts are decimal strings with two places (``"50000.00"``), as a float amount would
canonicalize differently across JCS libraries and lose cents. The catalogue is data:
adding a type or a field adds no code.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from license_registry.errors import InvalidInput
from license_registry.license_types import FieldKind, FieldSpec, validate_field_value

ContentValue = str | int
# Two decimal places always, no sign, no leading zeros, at most 15 integer digits
# (a trillion yuan fits; anything longer is a typo).
DECIMAL_AMOUNT = re.compile(r"(0|[1-9][0-9]{0,14})\.[0-9]{2}")
MAX_YEAR = 2100


class ContentKind(StrEnum):
    TEXT = "str"
    INT = "int"
    DATE = "date"  # YYYY-MM-DD
    ENUM = "enum"
    DECIMAL = "decimal"  # an amount as a decimal string with two places


@dataclass(frozen=True)
class ContentField:
    name: str
    kind: ContentKind
    required: bool = True
    max_length: int = 0  # characters of TEXT
    choices: tuple[str, ...] = ()
    min_value: int = 0
    max_value: int = 0

    def as_field_spec(self) -> FieldSpec:
        """The license catalogue's spec of the same field, whose checks we share."""
        return FieldSpec(self.name, FieldKind(self.kind.value), required=self.required,
                         max_length=self.max_length, choices=self.choices,
                         min_value=self.min_value, max_value=self.max_value)


@dataclass(frozen=True)
class RecordType:
    code: str
    name_zh: str
    name_en: str
    fields: tuple[ContentField, ...]

    def field_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)


def _text(name: str, max_length: int, *, required: bool = True) -> ContentField:
    return ContentField(name, ContentKind.TEXT, required=required, max_length=max_length)


def _date(name: str, *, required: bool = True) -> ContentField:
    return ContentField(name, ContentKind.DATE, required=required)


def _enum(name: str, choices: tuple[str, ...]) -> ContentField:
    return ContentField(name, ContentKind.ENUM, choices=choices)


def _amount(name: str) -> ContentField:
    return ContentField(name, ContentKind.DECIMAL, required=False)


LICENSE = "CR-LIC"
PENALTY = "CR-PEN"
COMMENDATION = "CR-COM"
RATING = "CR-RAT"
TAX_GRADE = "CR-TAX"
JUDGMENT = "CR-JUD"

RATING_GRADES = ("A", "B", "C", "D")
TAX_GRADES = ("A", "B", "M", "C", "D")  # M: new taxpayers without a full year of history
# A penalty counts as open until it is carried out or the enterprise's credit is repaired
# (信用修复): banks ask how many are still open, not how many there ever were.
PENALTY_STATUSES = ("OPEN", "FULFILLED", "REPAIRED")
OPEN_PENALTY = "OPEN"

RECORD_TYPES: tuple[RecordType, ...] = (
    RecordType(LICENSE, "行政许可", "Administrative license", (
        _text("licenseNumber", 64),
        _text("licenseName", 100),
        _text("licenseTypeCode", 32, required=False),  # the e-license catalogue code, if any
        _text("issuingAuthority", 100),
        _date("decisionDate"),
        _date("validUntil", required=False),
        _enum("licenseStatus", ("VALID", "SUSPENDED", "REVOKED", "EXPIRED")),
    )),
    RecordType(PENALTY, "行政处罚", "Administrative penalty", (
        _text("decisionNumber", 64),
        _text("violation", 500),
        _text("legalBasis", 500),
        _enum("penaltyKind", ("WARNING", "FINE", "CONFISCATION", "BUSINESS_SUSPENSION",
                              "LICENSE_REVOCATION", "OTHER")),
        _amount("fineAmount"),
        _date("decisionDate"),
        _enum("status", PENALTY_STATUSES),
    )),
    RecordType(COMMENDATION, "表彰奖励", "Commendation", (
        _text("title", 100),
        _text("awardingAuthority", 100),
        _enum("level", ("NATIONAL", "PROVINCIAL", "MUNICIPAL", "DISTRICT")),
        _date("awardDate"),
        _text("description", 500, required=False),
    )),
    RecordType(RATING, "信用评级", "Credit rating", (
        _enum("grade", RATING_GRADES),
        _text("ratingAgency", 100),
        _date("ratingDate"),
        ContentField("score", ContentKind.INT, required=False, min_value=0, max_value=1000),
        _date("validUntil", required=False),
    )),
    RecordType(TAX_GRADE, "纳税信用等级", "Tax credit grade", (
        _enum("grade", TAX_GRADES),
        # Grading began with the 2014 tax year (国家税务总局公告2014年第48号).
        ContentField("assessmentYear", ContentKind.INT, min_value=2014, max_value=MAX_YEAR),
        _text("taxAuthority", 100),
    )),
    RecordType(JUDGMENT, "司法判决", "Court judgment", (
        _text("caseNumber", 64),
        _text("court", 100),
        _enum("caseType", ("CIVIL", "COMMERCIAL", "ADMINISTRATIVE", "CRIMINAL", "ENFORCEMENT")),
        _enum("role", ("PLAINTIFF", "DEFENDANT", "THIRD_PARTY", "ENFORCEMENT_DEBTOR")),
        _date("judgmentDate"),
        _amount("amount"),
        _text("outcome", 500),
    )),
)
RECORD_TYPES_BY_CODE: Mapping[str, RecordType] = {t.code: t for t in RECORD_TYPES}
RECORD_TYPE_CODES: tuple[str, ...] = tuple(RECORD_TYPES_BY_CODE)


def get_record_type(code: object, field: str = "recordType") -> RecordType:
    if isinstance(code, str) and code in RECORD_TYPES_BY_CODE:
        return RECORD_TYPES_BY_CODE[code]
    raise InvalidInput(f"{field} {code!r} is not a credit record type; known types: "
                       f"{', '.join(RECORD_TYPE_CODES)}", field=field, code="unknown_record_type")


def is_decimal_amount(value: object) -> bool:
    return isinstance(value, str) and DECIMAL_AMOUNT.fullmatch(value) is not None


def validate_content_value(spec: ContentField, value: object) -> ContentValue:
    """One content field, normalized (text stripped, NFC); InvalidInput naming the field."""
    if spec.kind is ContentKind.DECIMAL:
        if not is_decimal_amount(value):
            raise InvalidInput(
                f"{spec.name} {value!r} is not an amount like \"50000.00\": a decimal string "
                "with two places, no sign, at most 15 digits before the point", field=spec.name)
        return str(value)
    normalized = validate_field_value(spec.as_field_spec(), value)
    if not isinstance(normalized, str | int):  # only ENUM_LIST yields lists; we have none
        raise InvalidInput(f"{spec.name} has an unsupported kind", field=spec.name)
    return normalized


def validate_content(record_type: RecordType | str, content: object) -> dict[str, ContentValue]:
    """Strictly check a record's content; return it normalized, in schema order.

    Unknown fields are refused rather than dropped: a field we did not show might be the
    one that changes what the record means. JSON null counts as absent.
    """
    kind = record_type if isinstance(record_type, RecordType) else get_record_type(record_type)
    if not isinstance(content, Mapping):
        raise InvalidInput(f"content of a {kind.code} record must be an object of fields",
                           field="content")
    known = set(kind.field_names())
    for name in content:
        if name not in known:
            raise InvalidInput(
                f"unknown field {name!r} for {kind.name_en} ({kind.code}); known fields: "
                f"{', '.join(kind.field_names())}", field=str(name))
    normalized: dict[str, ContentValue] = {}
    for spec in kind.fields:
        value = content.get(spec.name)
        if value is None:
            if spec.required:
                raise InvalidInput(f"{spec.name} is required for {kind.name_en} ({kind.code})",
                                   field=spec.name)
            continue
        normalized[spec.name] = validate_content_value(spec, value)
    return normalized
