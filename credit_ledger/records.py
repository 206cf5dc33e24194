"""Credit records: one fact about an enterprise's credit, recorded by the department that
knows it, appended to the credit log and never edited.

A wrong record is corrected, or overturned on appeal, by a new record that supersedes
it; both stay in the log, so the history shows what a bank could have seen when.
``record_entry`` is the JCS of the record's JSON form: the bytes appended to the credit
log. The SQL row keeps the same fields, so a row altered after the fact no longer
matches its log leaf.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from anchoring.merkle import leaf_hash
from credit_ledger.record_types import ContentValue, get_record_type, validate_content
from license_registry.errors import (
    Conflict,
    Forbidden,
    FormatError,
    InvalidInput,
    LicenseError,
    NotFound,
)
from license_registry.identifiers import validate_usci
from license_registry.jcs import canonicalize
from license_registry.license_types import is_date_text, validate_unix_time
from license_registry.lifecycle import validate_reason
from license_registry.presented import UUID_URN, datetime_text, parse_datetime_text

RECORD_KEYS = ("recordId", "subject", "recordType", "sourceDepartment", "effectiveDate",
               "content", "recordedAt", "supersedes", "supersedeReason", "supersedeKind")


class SupersedeKind(StrEnum):
    CORRECTION = "correction"  # the department got a fact wrong
    APPEAL = "appeal"  # a review or court overturned or changed the decision


@dataclass(frozen=True)
class CreditRecord:
    """One credit record; every field is validated (and normalized) on creation."""

    record_id: str  # urn:uuid:<lowercase UUID>
    subject: str  # USCI of the enterprise the record is about
    record_type: str  # CR-* code
    source_department: str  # USCI of the department that recorded it
    effective_date: str  # YYYY-MM-DD: when the fact took effect, not when it was recorded
    content: Mapping[str, ContentValue] = field(hash=False)
    recorded_at: int
    supersedes: str | None = None
    supersede_reason: str | None = None
    supersede_kind: SupersedeKind | None = None

    def __post_init__(self) -> None:
        validate_record_id(self.record_id, "recordId")
        object.__setattr__(self, "subject", validate_usci(self.subject, "subject"))
        get_record_type(self.record_type)
        object.__setattr__(self, "source_department",
                           validate_usci(self.source_department, "sourceDepartment"))
        if not is_date_text(self.effective_date):
            raise InvalidInput(f"effectiveDate {self.effective_date!r} is not a date YYYY-MM-DD",
                               field="effectiveDate")
        object.__setattr__(self, "content", validate_content(self.record_type, self.content))
        validate_unix_time(self.recorded_at, "recordedAt")
        self._validate_supersession()

    def _validate_supersession(self) -> None:
        parts = (self.supersedes, self.supersede_reason, self.supersede_kind)
        if all(part is None for part in parts):
            return
        if any(part is None for part in parts):
            raise InvalidInput("supersedes, supersedeReason and supersedeKind go together: "
                               "give all three or none", field="supersedes")
        validate_record_id(self.supersedes, "supersedes")
        if self.supersedes == self.record_id:
            raise InvalidInput("a record cannot supersede itself", field="supersedes")
        try:
            reason = validate_reason(self.supersede_reason)
        except InvalidInput as error:
            raise InvalidInput(error.message, field="supersedeReason") from None
        object.__setattr__(self, "supersede_reason", reason)
        object.__setattr__(self, "supersede_kind",
                           parse_supersede_kind(self.supersede_kind, "supersedeKind"))

    def to_json(self) -> dict[str, Any]:
        return {
            "recordId": self.record_id,
            "subject": self.subject,
            "recordType": self.record_type,
            "sourceDepartment": self.source_department,
            "effectiveDate": self.effective_date,
            "content": dict(self.content),
            "recordedAt": datetime_text(self.recorded_at),
            "supersedes": self.supersedes,
            "supersedeReason": self.supersede_reason,
            "supersedeKind": None if self.supersede_kind is None else self.supersede_kind.value,
        }


def validate_record_id(value: object, field: str) -> str:
    if not isinstance(value, str) or not UUID_URN.fullmatch(value):
        raise InvalidInput(f"{field} must be urn:uuid: and a lowercase UUID, got {value!r}",
                           field=field)
    return value


def parse_supersede_kind(value: object, field: str = "kind") -> SupersedeKind:
    if isinstance(value, str) and value in set(SupersedeKind):
        return SupersedeKind(value)
    raise InvalidInput(f"{field} {value!r} is not one of "
                       f"{', '.join(k.value for k in SupersedeKind)}", field=field)


def build_record(*, record_id: str, subject: str, record_type: str, source_department: str,
                 effective_date: str, content: Mapping[str, object],
                 recorded_at: int) -> CreditRecord:
    """A new, original record (InvalidInput naming the field at fault)."""
    return CreditRecord(record_id, subject, record_type, source_department, effective_date,
                        validate_content(record_type, content), recorded_at)


def build_superseding_record(old: CreditRecord, *, content: Mapping[str, object],
                             kind: SupersedeKind | str, reason: str, now: int, new_id: str,
                             department: str, superseded_by: str | None,
                             effective_date: str | None = None) -> CreditRecord:
    """The record that corrects ``old`` or carries the outcome of an appeal against it.

    ``superseded_by`` is the id of the record that already supersedes ``old``, if the
    store has one: it is required, so no caller can forget to look. Subject and type stay
    those of ``old``; the effective date too unless the correction is of the date.
    """
    # Entitlement first: another department does not learn whether a successor exists.
    requester = validate_usci(department, "department")
    if requester != old.source_department:
        raise Forbidden(f"only the source department {old.source_department} may supersede "
                        f"record {old.record_id}; {requester} did not record it",
                        field="department")
    if superseded_by is not None:
        raise Conflict(f"record {old.record_id} is already superseded by {superseded_by}; "
                       f"supersede {superseded_by} instead", field="supersedes",
                       code="already_superseded")
    validate_record_id(new_id, "recordId")
    if new_id == old.record_id:
        raise InvalidInput("the superseding record needs a new record id", field="recordId")
    # A clock running backwards would put the successor before what it replaces.
    if validate_unix_time(now, "now") < old.recorded_at:
        raise InvalidInput(f"now {now} is before record {old.record_id} was recorded at "
                           f"{old.recorded_at}; check the clock", field="now")
    return CreditRecord(
        new_id, old.subject, old.record_type, old.source_department,
        old.effective_date if effective_date is None else effective_date,
        validate_content(old.record_type, content), now, old.record_id, reason,
        parse_supersede_kind(kind))


def record_entry(record: CreditRecord) -> bytes:
    """The credit-log entry: JCS (RFC 8785) of the record's JSON form."""
    return canonicalize(record.to_json())


def record_hash(record: CreditRecord) -> bytes:
    """SHA-256 of the entry: the record's fingerprint in access records and rows."""
    return hashlib.sha256(record_entry(record)).digest()


def record_leaf_hash(record: CreditRecord) -> bytes:
    """The RFC 9162 leaf hash of the entry, as the credit log's Merkle tree holds it."""
    return leaf_hash(record_entry(record))


def record_from_json(obj: object) -> CreditRecord:
    """Strictly parse a record's JSON form; FormatError ``bad_record`` naming the field.

    The parsed record must serialize back to exactly ``obj`` (content already in normal
    form), so its entry is the bytes that were logged and not a tidied-up variant.
    """
    if not isinstance(obj, dict):
        raise _bad("record", f"must be a JSON object, got {type(obj).__name__}")
    missing = [key for key in RECORD_KEYS if key not in obj]
    unknown = sorted(str(key) for key in obj if key not in RECORD_KEYS)
    if missing:
        raise _bad(missing[0], "is missing (every key is present; absent values are null)")
    if unknown:
        raise _bad(unknown[0], "is not a field of a credit record")
    try:
        content = validate_content(get_record_type(obj["recordType"]), obj["content"])
    except LicenseError as error:
        top = error.field in ("recordType", "content")
        raise _bad(str(error.field) if top else f"content.{error.field}", error.message) from None
    try:
        recorded_at = parse_datetime_text(obj["recordedAt"])
    except FormatError as error:
        raise _bad("recordedAt", error.message) from None
    try:
        record = CreditRecord(
            obj["recordId"], obj["subject"], obj["recordType"], obj["sourceDepartment"],
            obj["effectiveDate"], content, recorded_at, obj["supersedes"],
            obj["supersedeReason"], obj["supersedeKind"])
    except LicenseError as error:
        raise _bad(error.field or "record", error.message) from None
    serialized = record.to_json()
    for key in RECORD_KEYS:
        if serialized[key] != obj[key]:
            raise _bad(_first_difference(key, serialized[key], obj[key]),
                       "is not in normal form (trimmed, NFC, canonical casing)")
    return record


def _first_difference(key: str, normal: object, given: object) -> str:
    if isinstance(normal, dict) and isinstance(given, dict):
        for name in normal:
            if normal[name] != given.get(name):
                return f"{key}.{name}"
    return key


def _bad(field_name: str, message: str) -> FormatError:
    return FormatError(f"credit record field {field_name}: {message}", field=field_name,
                       code="bad_record")


def find_successors(records: Iterable[CreditRecord]) -> dict[str, list[str]]:
    """record id -> ids of the records that supersede it (more than one is a fork)."""
    successors: dict[str, list[str]] = {}
    for record in records:
        if record.supersedes is not None:
            successors.setdefault(record.supersedes, []).append(record.record_id)
    return successors


def current_records(records: Iterable[CreditRecord]) -> list[CreditRecord]:
    """The records no other record in ``records`` supersedes, in their given order."""
    listed = list(records)
    superseded = set(find_successors(listed))
    return [record for record in listed if record.record_id not in superseded]


def history(records: Sequence[CreditRecord], record_id: str) -> list[CreditRecord]:
    """The supersession chain through ``record_id``, original first, current last.

    Raises NotFound if the id is not among ``records``, and Conflict if the chain forks
    (two records superseding one) or loops: the store let a race or a forgery through.
    """
    by_id = {record.record_id: record for record in records}
    if record_id not in by_id:
        raise NotFound(f"record {record_id} is not among the records given", field="recordId")
    first, seen = by_id[record_id], {record_id}
    while first.supersedes is not None and first.supersedes in by_id:
        if first.supersedes in seen:
            raise Conflict(f"records supersede each other in a loop through {first.supersedes}",
                           field="supersedes", code="forked_history")
        first = by_id[first.supersedes]
        seen.add(first.record_id)
    successors = find_successors(records)
    chain = [first]
    while chain[-1].record_id in successors:
        following = successors[chain[-1].record_id]
        if len(following) > 1:
            raise Conflict(f"record {chain[-1].record_id} is superseded by several records "
                           f"({', '.join(following)}); only one may supersede it",
                           field="supersedes", code="forked_history")
        chain.append(by_id[following[0]])
    return chain
