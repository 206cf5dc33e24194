"""Credit records: validation, entry bytes, strict parsing, supersession and history."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from typing import Any

import pytest

from anchoring.merkle import leaf_hash
from credit_ledger.records import (
    CreditRecord,
    SupersedeKind,
    build_record,
    build_superseding_record,
    current_records,
    history,
    record_entry,
    record_from_json,
    record_hash,
    record_leaf_hash,
)
from license_registry.errors import (
    Conflict,
    Forbidden,
    FormatError,
    InvalidInput,
    LicenseError,
    NotFound,
)
from license_registry.jcs import canonicalize
from tests.credit_ledger.samples import (
    CONTENT,
    DEPARTMENT,
    ENTERPRISE,
    OTHER_DEPARTMENT,
    T0,
    make_record,
    record_id,
)

RATING = make_record(1, "CR-RAT")


def test_json_form_and_entry_bytes() -> None:
    assert RATING.to_json() == {
        "recordId": record_id(1), "subject": ENTERPRISE, "recordType": "CR-RAT",
        "sourceDepartment": DEPARTMENT, "effectiveDate": "2025-01-10",
        "content": CONTENT["CR-RAT"], "recordedAt": "2025-01-01T00:00:01Z",
        "supersedes": None, "supersedeReason": None, "supersedeKind": None,
    }
    entry = record_entry(RATING)
    assert entry == canonicalize(RATING.to_json())
    assert entry.startswith(b'{"content":{"grade":"A",')
    assert record_hash(RATING) == hashlib.sha256(entry).digest()
    assert record_leaf_hash(RATING) == leaf_hash(entry)


def test_a_changed_field_changes_the_hash() -> None:
    changed = dataclasses.replace(RATING, content={**CONTENT["CR-RAT"], "grade": "B"})
    assert record_hash(changed) != record_hash(RATING)


GOOD: dict[str, Any] = {
    "record_id": record_id(9), "subject": ENTERPRISE, "record_type": "CR-TAX",
    "source_department": DEPARTMENT, "effective_date": "2025-04-01",
    "content": CONTENT["CR-TAX"], "recorded_at": T0,
}


@pytest.mark.parametrize(("change", "field"), [
    ({"record_id": "urn:uuid:not-a-uuid"}, "recordId"),
    ({"record_id": record_id(9).upper()}, "recordId"),
    ({"subject": "91350100M000100Y44"}, "subject"),
    ({"subject": 91350100}, "subject"),
    ({"record_type": "CR-ABC"}, "recordType"),
    ({"source_department": "11110000000000001"}, "sourceDepartment"),
    ({"effective_date": "2025-13-01"}, "effectiveDate"),
    ({"effective_date": "20250401"}, "effectiveDate"),
    ({"recorded_at": -1}, "recordedAt"),
    ({"recorded_at": T0 * 1000 * 1000}, "recordedAt"),
    ({"content": {**CONTENT["CR-TAX"], "grade": "Z"}}, "grade"),
    ({"content": CONTENT["CR-RAT"]}, "ratingAgency"),  # content of another type
])
def test_build_record_names_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_record(**{**GOOD, **change})
    assert caught.value.field == field


def test_identifiers_are_normalized() -> None:
    record = build_record(**{**GOOD, "subject": ENTERPRISE.lower()})
    assert record.subject == ENTERPRISE


def supersede(old: CreditRecord, **change: Any) -> CreditRecord:
    arguments: dict[str, Any] = {
        "content": {**CONTENT["CR-RAT"], "grade": "B"}, "kind": "correction",
        "reason": "评级报告录入错误", "now": T0 + 100, "new_id": record_id(2),
        "department": DEPARTMENT, "superseded_by": None, **change}
    return build_superseding_record(old, **arguments)


def test_correction_supersedes() -> None:
    new = supersede(RATING)
    assert new.to_json() == {
        **RATING.to_json(), "recordId": record_id(2), "content": {**CONTENT["CR-RAT"],
                                                                  "grade": "B"},
        "recordedAt": "2025-01-01T00:01:40Z", "supersedes": record_id(1),
        "supersedeReason": "评级报告录入错误", "supersedeKind": "correction"}
    assert new.supersede_kind is SupersedeKind.CORRECTION


def test_appeal_may_change_the_effective_date() -> None:
    new = supersede(RATING, kind="appeal", effective_date="2025-03-01")
    assert (new.supersede_kind, new.effective_date, new.record_type, new.subject) == (
        SupersedeKind.APPEAL, "2025-03-01", "CR-RAT", ENTERPRISE)


@pytest.mark.parametrize(("change", "error", "code", "field", "words"), [
    ({"department": OTHER_DEPARTMENT}, Forbidden, "forbidden", "department",
     f"only the source department {DEPARTMENT}"),
    ({"superseded_by": record_id(5)}, Conflict, "already_superseded", "supersedes",
     f"already superseded by {record_id(5)}"),
    ({"reason": ""}, InvalidInput, "invalid_input", "supersedeReason", "reason is required"),
    ({"reason": "   "}, InvalidInput, "invalid_input", "supersedeReason", "reason is required"),
    ({"reason": "x" * 501}, InvalidInput, "invalid_input", "supersedeReason", "at most 500"),
    ({"kind": "withdrawal"}, InvalidInput, "invalid_input", "kind", "correction, appeal"),
    ({"new_id": record_id(1)}, InvalidInput, "invalid_input", "recordId", "new record id"),
    ({"new_id": "urn:uuid:2"}, InvalidInput, "invalid_input", "recordId", "lowercase UUID"),
    ({"now": T0}, InvalidInput, "invalid_input", "now", "check the clock"),
    ({"content": CONTENT["CR-TAX"]}, InvalidInput, "invalid_input", "assessmentYear",
     "unknown field"),
    ({"department": "not-a-usci"}, InvalidInput, "invalid_identifier", "department",
     "18 characters"),
    ({"department": OTHER_DEPARTMENT, "superseded_by": record_id(5)}, Forbidden, "forbidden",
     "department", f"{OTHER_DEPARTMENT} did not record it"),
])
def test_supersession_rules(change: dict[str, Any], error: type[LicenseError], code: str,
                            field: str, words: str) -> None:
    with pytest.raises(error) as caught:
        supersede(RATING, **change)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert words in caught.value.message


def test_reason_is_trimmed_and_500_characters_allowed() -> None:
    assert supersede(RATING, reason=" 错 ").supersede_reason == "错"
    assert supersede(RATING, reason="x" * 500).supersede_reason == "x" * 500


@pytest.mark.parametrize(("supersedes", "reason", "kind", "field"), [
    (record_id(1), None, "correction", "supersedes"),
    (None, "why", None, "supersedes"),
    (record_id(3), "why", None, "supersedes"),
    (record_id(3), "why", "edit", "supersedeKind"),
    (record_id(3), "", "appeal", "supersedeReason"),
    (record_id(2), "why", "appeal", "supersedes"),  # itself
])
def test_supersession_fields_go_together(supersedes: Any, reason: Any, kind: Any,
                                         field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        CreditRecord(record_id(2), ENTERPRISE, "CR-RAT", DEPARTMENT, "2025-01-10",
                     CONTENT["CR-RAT"], T0, supersedes, reason, kind)
    assert caught.value.field == field


def test_json_round_trip() -> None:
    for record in (RATING, supersede(RATING)):
        assert record_from_json(record.to_json()) == record
        assert record_entry(record_from_json(record.to_json())) == record_entry(record)


def altered(**change: Any) -> dict[str, Any]:
    document = copy.deepcopy(supersede(RATING).to_json())
    for key, value in change.items():
        if value is KeyError:
            del document[key]
        elif key.startswith("content_"):
            document["content"][key.removeprefix("content_")] = value
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(("document", "field"), [
    ([], "record"),
    (altered(supersedes=KeyError), "supersedes"),
    (altered(note="x"), "note"),
    (altered(recordType="CR-XYZ"), "recordType"),
    (altered(content="A"), "content"),
    (altered(content_grade="E"), "content.grade"),
    (altered(content_outlook="stable"), "content.outlook"),
    (altered(content_score=880.0), "content.score"),
    (altered(content_ratingAgency=" 某信用评级有限公司"), "content.ratingAgency"),
    (altered(recordedAt=T0), "recordedAt"),
    (altered(recordedAt="2025-01-01T00:00:01+08:00"), "recordedAt"),
    (altered(recordId="urn:uuid:x"), "recordId"),
    (altered(subject=ENTERPRISE.lower()), "subject"),
    (altered(sourceDepartment="11110000000000001X"), "sourceDepartment"),
    (altered(effectiveDate="2025-1-10"), "effectiveDate"),
    (altered(supersedeKind="edit"), "supersedeKind"),
    (altered(supersedeReason=" 评级报告录入错误"), "supersedeReason"),
    (altered(supersedeReason=None), "supersedes"),
])
def test_strict_parser_names_the_field(document: Any, field: str) -> None:
    with pytest.raises(FormatError) as caught:
        record_from_json(document)
    assert (caught.value.code, caught.value.field) == ("bad_record", field)


# a -> b -> c (a corrected, then the correction overturned on appeal); d stands alone.
A = make_record(11, "CR-PEN")
B = build_superseding_record(A, content={**CONTENT["CR-PEN"], "fineAmount": "5000.00"},
                             kind="correction", reason="罚款金额录入错误", now=T0 + 20,
                             new_id=record_id(12), department=DEPARTMENT, superseded_by=None)
C = build_superseding_record(B, content={**CONTENT["CR-PEN"], "status": "REPAIRED"},
                             kind="appeal", reason="行政复议撤销处罚", now=T0 + 30,
                             new_id=record_id(13), department=DEPARTMENT, superseded_by=None)
D = make_record(14, "CR-COM")


def test_current_records() -> None:
    assert current_records([A, B, C, D]) == [C, D]
    assert current_records([D, C, A, B]) == [D, C]
    assert current_records([A, B]) == [B]
    assert current_records([]) == []


@pytest.mark.parametrize(("records", "start", "expected"), [
    ([A, B, C, D], A.record_id, [A, B, C]),
    ([A, B, C, D], B.record_id, [A, B, C]),
    ([D, C, B, A], C.record_id, [A, B, C]),
    ([A, B, C, D], D.record_id, [D]),
    ([B, C], C.record_id, [B, C]),  # the original is not among the records given
])
def test_history(records: list[CreditRecord], start: str,
                 expected: list[CreditRecord]) -> None:
    assert history(records, start) == expected


def test_history_refuses_a_fork_and_an_unknown_id() -> None:
    fork = dataclasses.replace(C, record_id=record_id(15))
    with pytest.raises(Conflict) as caught:
        history([A, B, C, fork], A.record_id)
    assert caught.value.code == "forked_history"
    assert record_id(13) in caught.value.message and record_id(15) in caught.value.message
    with pytest.raises(NotFound):
        history([A, B], record_id(99))


def test_history_refuses_a_loop() -> None:
    looped = dataclasses.replace(A, supersedes=C.record_id, supersede_reason="x",
                                 supersede_kind=SupersedeKind.CORRECTION)
    with pytest.raises(Conflict):
        history([looped, B, C], B.record_id)
