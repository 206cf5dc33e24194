"""The license catalogue (GB/T 36902) and license metadata (GB/T 36903).

Each license type names its holder's identifier kind, how long a license may be valid,
and a schema of its subject fields: which are required, how long, which are personal
(masked in city codes) and which go into the compact city code, under which small
integer key and within how many UTF-8 bytes. The catalogue is data, so adding a type
adds no code. Printed city codes live for years, so compact keys are never reused and
choices are only appended: the compact form stores a choice's position (a list of
choices as a bit mask, bit i for choice i), which keeps every code within budget.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from license_registry.errors import InvalidInput
from license_registry.identifiers import (
    HolderIdType,
    mask_personal_name,
    validate_holder_id,
    validate_usci,
)

DAY = 86_400
MAX_TIME = 253_402_300_799  # 9999-12-31T23:59:59Z
SubjectValue = str | int | list[str]
ELLIPSIS = "…"


def calculate_validity_seconds(years: int) -> int:
    """The longest span N calendar years can have (one leap day per started 4 years), so a
    window of N calendar years always fits under a maximum of N years."""
    return (365 * years + -(-years // 4)) * DAY


class FieldKind(StrEnum):
    TEXT = "str"
    INT = "int"
    DATE = "date"  # YYYY-MM-DD
    ENUM = "enum"
    ENUM_LIST = "enum_list"  # distinct choices, kept in catalogue order


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: FieldKind
    required: bool = True
    max_length: int = 0  # characters of TEXT, items of ENUM_LIST
    personal: bool = False  # a person's data: masked in the city code
    choices: tuple[str, ...] = ()
    min_value: int = 0
    max_value: int = 0
    compact_key: int | None = None  # key in the city code's license claim; None: left out
    compact_bytes: int = 0  # UTF-8 budget of TEXT in the city code (truncated beyond)


@dataclass(frozen=True)
class LicenseType:
    code: str  # short ASCII catalogue code, bytes32 on chain
    name_zh: str
    name_en: str
    credential_type: str  # the third VC `type`
    holder_id_type: HolderIdType
    default_validity_years: int
    max_validity_years: int
    fields: tuple[FieldSpec, ...]

    @property
    def default_validity(self) -> int:
        return calculate_validity_seconds(self.default_validity_years)

    @property
    def max_validity(self) -> int:
        return calculate_validity_seconds(self.max_validity_years)

    def field_spec(self, name: str) -> FieldSpec | None:
        return next((f for f in self.fields if f.name == name), None)


def _text(name: str, max_length: int, *, required: bool = True, personal: bool = False,
          compact_key: int | None = None, compact_bytes: int = 0) -> FieldSpec:
    return FieldSpec(name, FieldKind.TEXT, required=required, max_length=max_length,
                     personal=personal, compact_key=compact_key, compact_bytes=compact_bytes)


VEHICLE_CLASSES = ("A1", "A2", "A3", "B1", "B2", "C1", "C2", "C3", "C4", "C5", "C6",
                   "D", "E", "F", "M", "N", "P")

LICENSE_TYPES: tuple[LicenseType, ...] = (
    LicenseType("CN-BL", "营业执照", "Business License", "BusinessLicense",
                HolderIdType.USCI, 20, 30, (
                    _text("enterpriseName", 100, compact_key=8, compact_bytes=48),
                    _text("legalRepresentative", 50, personal=True, compact_key=9,
                          compact_bytes=20),
                    _text("enterpriseType", 50, required=False),
                    _text("registeredCapital", 50),  # text such as "1000万元": never a float
                    FieldSpec("establishedDate", FieldKind.DATE, required=False),
                    _text("businessScope", 2000),
                    _text("address", 200),
                )),
    LicenseType("CN-FBL", "食品经营许可证", "Food Business License", "FoodBusinessLicense",
                HolderIdType.USCI, 5, 5, (
                    _text("enterpriseName", 100, compact_key=8, compact_bytes=48),
                    _text("legalRepresentative", 50, required=False, personal=True),
                    FieldSpec("operatorCategory", FieldKind.ENUM,
                              choices=("SALES", "CATERING", "CANTEEN"), compact_key=9),
                    _text("businessScope", 500),
                    _text("premises", 200),
                )),
    LicenseType("CN-CP", "建筑工程施工许可证", "Construction Permit", "ConstructionPermit",
                HolderIdType.USCI, 2, 5, (
                    _text("projectName", 100, compact_key=8, compact_bytes=42),
                    _text("builder", 100, compact_key=9, compact_bytes=30),
                    _text("contractor", 100, required=False),
                    _text("location", 200),
                    _text("contractAmount", 50),  # text such as "3500万元"
                    FieldSpec("floorArea", FieldKind.INT, required=False,
                              min_value=1, max_value=100_000_000),  # square metres
                )),
    LicenseType("CN-PQC", "专业技术资格证书", "Professional Qualification Certificate",
                "ProfessionalQualificationCertificate", HolderIdType.CITIZEN_ID, 30, 50, (
                    _text("holderName", 50, personal=True, compact_key=8, compact_bytes=20),
                    _text("qualification", 100, compact_key=9, compact_bytes=24),
                    _text("specialty", 100, compact_key=10, compact_bytes=24),
                    FieldSpec("level", FieldKind.ENUM, compact_key=11,
                              choices=("JUNIOR", "INTERMEDIATE", "SUB_SENIOR", "SENIOR")),
                    FieldSpec("awardedDate", FieldKind.DATE, required=False),
                )),
    # Third-term driving licenses are "long-term": reissued here as 10-year credentials.
    LicenseType("CN-DL", "机动车驾驶证", "Driving License", "DrivingLicense",
                HolderIdType.CITIZEN_ID, 6, 10, (
                    _text("holderName", 50, personal=True, compact_key=8, compact_bytes=20),
                    FieldSpec("vehicleClasses", FieldKind.ENUM_LIST, max_length=8,
                              choices=VEHICLE_CLASSES, compact_key=9),
                    FieldSpec("firstIssued", FieldKind.DATE, compact_key=10),
                )),
)
LICENSE_TYPES_BY_CODE: Mapping[str, LicenseType] = {t.code: t for t in LICENSE_TYPES}


def get_license_type(code: object, field: str = "licenseType") -> LicenseType:
    if isinstance(code, str) and code in LICENSE_TYPES_BY_CODE:
        return LICENSE_TYPES_BY_CODE[code]
    known = ", ".join(LICENSE_TYPES_BY_CODE)
    raise InvalidInput(f"{field} {code!r} is not in the catalogue; known types: {known}",
                       field=field, code="unknown_license_type")


def license_type_bytes32(code: str) -> bytes:
    """The on-chain form: ASCII, left-aligned, zero-padded to 32 bytes."""
    if not (isinstance(code, str) and code.isascii() and code.isprintable()
            and 0 < len(code) <= 32):
        raise InvalidInput(f"license type code {code!r} must be 1-32 ASCII characters",
                           field="licenseType")
    return code.encode("ascii").ljust(32, b"\x00")


def license_type_from_bytes32(raw: bytes) -> str:
    code = raw.rstrip(b"\x00")
    if len(raw) != 32 or not code or not code.isascii() or not code.decode().isprintable():
        raise InvalidInput("license type bytes32 must be ASCII, left-aligned, zero-padded",
                           field="licenseType")
    return code.decode("ascii")


def is_date_text(text: object) -> bool:
    if not isinstance(text, str) or not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def find_control_character(text: str) -> int | None:
    """1-based position of the first control, format or unassigned character, if any."""
    if text.isprintable():  # no category C (nor Z but " ") character: the common case, in C
        return None
    return next((i for i, c in enumerate(text, 1) if unicodedata.category(c)[0] == "C"), None)


def validate_field_value(spec: FieldSpec, value: object) -> SubjectValue:
    """One subject field, normalized (TEXT: stripped, NFC); raise InvalidInput naming it."""
    name = spec.name
    if spec.kind is FieldKind.TEXT:
        if not isinstance(value, str):
            raise InvalidInput(f"{name} must be text, got {type(value).__name__}", field=name)
        text = unicodedata.normalize("NFC", value.strip())
        if not text:
            raise InvalidInput(f"{name} must not be empty; leave it out if optional", field=name)
        if len(text) > spec.max_length:
            raise InvalidInput(f"{name} is {len(text)} characters, at most {spec.max_length} "
                               "allowed", field=name)
        bad = find_control_character(text)
        if bad is not None:
            raise InvalidInput(f"{name} has a control character at position {bad}", field=name)
        return text
    if spec.kind is FieldKind.INT:
        if not isinstance(value, int) or isinstance(value, bool):
            raise InvalidInput(f"{name} must be an integer, got {type(value).__name__}",
                               field=name)
        if not spec.min_value <= value <= spec.max_value:
            raise InvalidInput(f"{name} is {value}, allowed {spec.min_value}-{spec.max_value}",
                               field=name)
        return value
    if spec.kind is FieldKind.DATE:
        if not isinstance(value, str) or not is_date_text(value):
            raise InvalidInput(f"{name} {value!r} is not a date YYYY-MM-DD", field=name)
        return value
    if spec.kind is FieldKind.ENUM:
        if not isinstance(value, str) or value not in spec.choices:
            raise InvalidInput(f"{name} {value!r} is not one of {', '.join(spec.choices)}",
                               field=name)
        return value
    if not isinstance(value, list) or not value:
        raise InvalidInput(f"{name} must be a non-empty list of {', '.join(spec.choices)}",
                           field=name)
    for item in value:
        if not isinstance(item, str) or item not in spec.choices:
            raise InvalidInput(f"{name} has {item!r}, not one of {', '.join(spec.choices)}",
                               field=name)
    if len(set(value)) != len(value):
        raise InvalidInput(f"{name} lists a value twice", field=name)
    if len(value) > spec.max_length:
        raise InvalidInput(f"{name} has {len(value)} items, at most {spec.max_length} allowed",
                           field=name)
    return [c for c in spec.choices if c in value]


def validate_subject(license_type: LicenseType, data: object) -> dict[str, SubjectValue]:
    """Strictly check untrusted subject fields; return them normalized, in schema order."""
    if not isinstance(data, dict):
        raise InvalidInput("subject must be an object of fields", field="subject")
    known = {f.name for f in license_type.fields}
    for name in data:
        if name not in known:
            raise InvalidInput(
                f"unknown field {name!r} for {license_type.name_en} ({license_type.code}); "
                f"known fields: {', '.join(f.name for f in license_type.fields)}",
                field=str(name))
    subject: dict[str, SubjectValue] = {}
    for spec in license_type.fields:
        value = data.get(spec.name)
        if value is None:  # JSON null is absent, as forms send it for empty optional fields
            if spec.required:
                raise InvalidInput(f"{spec.name} is required for {license_type.name_en}",
                                   field=spec.name)
            continue
        subject[spec.name] = validate_field_value(spec, value)
    return subject


def truncate_utf8(text: str, max_bytes: int) -> str:
    """``text`` within ``max_bytes`` of UTF-8, cut at a character and marked with ``…``."""
    if len(text.encode("utf-8")) <= max_bytes:
        return text
    budget = max_bytes - len(ELLIPSIS.encode("utf-8"))
    kept = text.encode("utf-8")[:budget].decode("utf-8", errors="ignore")
    return kept + ELLIPSIS


def calculate_compact_value(spec: FieldSpec, value: SubjectValue) -> SubjectValue:
    """A field's city-code form: names masked, text cut to its budget, choices as numbers."""
    if spec.kind is FieldKind.TEXT and isinstance(value, str):
        return truncate_utf8(mask_personal_name(value) if spec.personal else value,
                             spec.compact_bytes)
    if spec.kind is FieldKind.ENUM and isinstance(value, str):
        return spec.choices.index(value)
    if spec.kind is FieldKind.ENUM_LIST and isinstance(value, list):
        return sum(1 << spec.choices.index(choice) for choice in value)
    return value


def parse_compact_value(spec: FieldSpec, value: object) -> SubjectValue:
    """Inverse of ``calculate_compact_value`` for untrusted input (masking and cuts stay)."""
    name = spec.name
    if spec.kind is FieldKind.TEXT:
        if not isinstance(value, str) or not value or find_control_character(value):
            raise InvalidInput(f"{name} must be non-empty text without control characters",
                               field=name)
        if len(value.encode("utf-8")) > spec.compact_bytes:
            raise InvalidInput(f"{name} is longer than {spec.compact_bytes} bytes", field=name)
        return value
    if spec.kind not in (FieldKind.ENUM, FieldKind.ENUM_LIST):
        return validate_field_value(spec, value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise InvalidInput(f"{name} must be a choice number", field=name)
    if spec.kind is FieldKind.ENUM:
        if value >= len(spec.choices):
            raise InvalidInput(f"{name} choice {value} is not in the catalogue", field=name)
        return spec.choices[value]
    chosen = [c for i, c in enumerate(spec.choices) if value >> i & 1]
    if not chosen or value >> len(spec.choices) or len(chosen) > spec.max_length:
        raise InvalidInput(f"{name} choice set {value} is empty, unknown or too large",
                           field=name)
    return chosen


LICENSE_NUMBER = re.compile(r"[A-Za-z0-9-]{1,64}")
MAX_NAME_LENGTH = 100
MAX_SCOPE_LENGTH = 200


def validate_license_number(number: object, field: str = "licenseNumber") -> str:
    if not isinstance(number, str) or not LICENSE_NUMBER.fullmatch(number):
        raise InvalidInput(f"{field} {number!r} must be 1-64 characters of A-Z, a-z, 0-9 and -",
                           field=field)
    return number


@dataclass(frozen=True)
class LicenseMetadata:
    """GB/T 36903 metadata of one license; validated (and identifiers normalized) on creation.

    ``holder_id`` is the real identifier: the store keeps it only encrypted, and it is
    left out of ``repr`` so it never reaches a log.
    """

    license_number: str
    license_type: str
    issuer_usci: str
    issuer_name: str
    holder_id_type: HolderIdType
    holder_id: str = field(repr=False)
    valid_from: int
    valid_until: int
    scope: str = ""  # where the license applies, e.g. "全市"; empty: nowhere restricted

    def __post_init__(self) -> None:
        validate_license_number(self.license_number)
        license_type = get_license_type(self.license_type)
        object.__setattr__(self, "issuer_usci", validate_usci(self.issuer_usci, "issuerUsci"))
        object.__setattr__(self, "issuer_name", validate_short_text(
            self.issuer_name, "issuerName", 1, MAX_NAME_LENGTH))
        if self.holder_id_type != license_type.holder_id_type:
            raise InvalidInput(
                f"holderIdType {self.holder_id_type!s} does not fit {license_type.code}, whose "
                f"holders are identified by {license_type.holder_id_type.value}",
                field="holderIdType")
        object.__setattr__(self, "holder_id_type", HolderIdType(self.holder_id_type))
        object.__setattr__(self, "holder_id",
                           validate_holder_id(self.holder_id_type, self.holder_id))
        object.__setattr__(self, "scope",
                           validate_short_text(self.scope, "scope", 0, MAX_SCOPE_LENGTH))
        validate_validity(license_type, self.valid_from, self.valid_until)


def validate_short_text(value: object, field: str, min_length: int, max_length: int) -> str:
    text = unicodedata.normalize("NFC", value.strip()) if isinstance(value, str) else None
    if text is None or not min_length <= len(text) <= max_length or find_control_character(text):
        raise InvalidInput(f"{field} must be text of {min_length}-{max_length} characters "
                           "without control characters", field=field)
    return text


def validate_unix_time(value: object, field: str) -> int:
    """Unix seconds that an XML datetime can show (up to 9999-12-31T23:59:59Z)."""
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= MAX_TIME:
        raise InvalidInput(f"{field} must be unix seconds from 0 to {MAX_TIME}, got {value!r}",
                           field=field)
    return value


def validate_validity(license_type: LicenseType, valid_from: object, valid_until: object) -> None:
    start = validate_unix_time(valid_from, "validFrom")
    end = validate_unix_time(valid_until, "validUntil")
    if end <= start:
        raise InvalidInput(f"validUntil {end} must be after validFrom {start}",
                           field="validUntil")
    if end - start > license_type.max_validity:
        raise InvalidInput(
            f"validity of {(end - start) // DAY} days exceeds the "
            f"{license_type.max_validity_years} years allowed for {license_type.name_en}",
            field="validUntil")
