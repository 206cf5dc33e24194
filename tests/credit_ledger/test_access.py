"""Access records: the hash chain, its strict JSON form, and tampering found by seq."""

from __future__ import annotations

import copy
import dataclasses
import hashlib
from typing import Any

import pytest

from credit_ledger.access import (
    GENESIS_HASH,
    AccessProblem,
    AccessRecord,
    access_entry,
    access_hash,
    access_record_from_json,
    build_access_record,
    validate_chain,
)
from license_registry.errors import FormatError, InvalidInput
from license_registry.jcs import canonicalize
from tests.credit_ledger.samples import BANK, ENTERPRISE, OTHER_BANK, T0

OPERATOR = "0x" + "ab" * 20
OPERATOR_UPPER = "0x" + "AB" * 20  # accepted on input, stored lowercase
CONSENT_ID = "urn:uuid:6d1f0b4e-3a52-4c7e-9f00-0000000000c6"
RESULT = hashlib.sha256(b"the attestation returned").digest()


def allowed(prev: AccessRecord | None, time: int) -> AccessRecord:
    return build_access_record(prev, time=time, actor=BANK, operator=OPERATOR,
                               consent_id=CONSENT_ID, subject=ENTERPRISE,
                               purpose="LOAN_APPLICATION", scopes=["CR-TAX", "CR-RAT"],
                               decision="allowed", result_hash=RESULT)


def refused(prev: AccessRecord | None, time: int, reason: str = "scope_not_consented",
            consent_id: str | None = CONSENT_ID) -> AccessRecord:
    return build_access_record(prev, time=time, actor=OTHER_BANK, operator=OPERATOR_UPPER,
                               consent_id=consent_id, subject=ENTERPRISE, purpose="GUARANTEE",
                               scopes=["CR-JUD"], decision="refused", reason=reason)


def build_chain(length: int = 5) -> list[AccessRecord]:
    chain: list[AccessRecord] = []
    for seq in range(length):
        prev = chain[-1] if chain else None
        chain.append(allowed(prev, T0 + seq) if seq % 2 == 0 else refused(prev, T0 + seq))
    return chain


CHAIN = build_chain()


def test_json_form_and_links() -> None:
    assert CHAIN[0].to_json() == {
        "seq": 0, "prevHash": GENESIS_HASH, "time": "2025-01-01T00:00:00Z", "actor": BANK,
        "operator": OPERATOR, "consentId": CONSENT_ID, "subject": ENTERPRISE,
        "purpose": "LOAN_APPLICATION", "scopes": ["CR-RAT", "CR-TAX"],
        "resultHash": RESULT.hex(), "decision": "allowed", "reason": None}
    assert CHAIN[1].to_json() | {"prevHash": None} == {
        "seq": 1, "prevHash": None, "time": "2025-01-01T00:00:01Z", "actor": OTHER_BANK,
        "operator": OPERATOR, "consentId": CONSENT_ID, "subject": ENTERPRISE,
        "purpose": "GUARANTEE", "scopes": ["CR-JUD"], "resultHash": None,
        "decision": "refused", "reason": "scope_not_consented"}
    assert access_entry(CHAIN[0]) == canonicalize(CHAIN[0].to_json())
    for before, after in zip(CHAIN, CHAIN[1:], strict=False):
        assert after.prev_hash == access_hash(before)
        assert after.prev_hash == hashlib.sha256(access_entry(before)).hexdigest()
    assert [r.seq for r in CHAIN] == [0, 1, 2, 3, 4]


def test_a_refusal_without_a_consent_is_recorded() -> None:
    record = refused(None, T0, reason="consent_not_found", consent_id=None)
    assert (record.consent_id, record.reason) == (None, "consent_not_found")


@pytest.mark.parametrize(("change", "field"), [
    ({"actor": "bank"}, "actor"),
    ({"operator": "0x1234"}, "operator"),
    ({"operator": "ab" * 21}, "operator"),
    ({"consent_id": "c-1"}, "consentId"),
    ({"subject": "91350100M000100Y4"}, "subject"),
    ({"purpose": "MARKETING"}, "purpose"),
    ({"scopes": []}, "scopes"),
    ({"scopes": "CR-RAT"}, "scopes"),
    ({"time": -1}, "time"),
    ({"decision": "maybe"}, "decision"),
    ({"result_hash": None}, "resultHash"),
    ({"result_hash": b"short"}, "resultHash"),
    ({"reason": "expired"}, "reason"),
    ({"consent_id": None}, "consentId"),
    ({"decision": "refused", "reason": "expired"}, "resultHash"),
    ({"decision": "refused", "result_hash": None}, "reason"),
    ({"decision": "refused", "result_hash": None, "reason": "Not Allowed"}, "reason"),
])
def test_build_names_the_field(change: dict[str, Any], field: str) -> None:
    arguments: dict[str, Any] = {
        "time": T0, "actor": BANK, "operator": OPERATOR, "consent_id": CONSENT_ID,
        "subject": ENTERPRISE, "purpose": "LOAN_APPLICATION", "scopes": ["CR-RAT"],
        "decision": "allowed", "result_hash": RESULT, **change}
    with pytest.raises(InvalidInput) as caught:
        build_access_record(None, **arguments)
    assert caught.value.field == field


def test_json_round_trip() -> None:
    for record in CHAIN:
        assert access_record_from_json(record.to_json()) == record


def with_json(**change: Any) -> dict[str, Any]:
    document = copy.deepcopy(CHAIN[1].to_json())
    for key, value in change.items():
        if value is KeyError:
            del document[key]
        else:
            document[key] = value
    return document


@pytest.mark.parametrize(("document", "field"), [
    ("{}", "record"),
    (with_json(reason=KeyError), "reason"),
    (with_json(extra=1), "extra"),
    (with_json(seq=-1), "seq"),
    (with_json(seq=True), "seq"),
    (with_json(prevHash="00"), "prevHash"),
    (with_json(time=T0), "time"),
    (with_json(scopes="CR-JUD"), "scopes"),
    (with_json(scopes=["CR-JUD", "CR-RAT"]), "scopes"),  # not in catalogue order
    (with_json(operator=OPERATOR_UPPER), "operator"),
    (with_json(actor=OTHER_BANK.lower()), "actor"),
    (with_json(decision="allowed"), "resultHash"),
])
def test_strict_parser_names_the_field(document: Any, field: str) -> None:
    with pytest.raises(FormatError) as caught:
        access_record_from_json(document)
    assert (caught.value.code, caught.value.field) == ("bad_access_record", field)


def test_an_intact_chain_has_no_problems() -> None:
    assert validate_chain(CHAIN) == []
    assert validate_chain([]) == []
    assert validate_chain(CHAIN[:1]) == []


def edited(seq: int, **change: Any) -> list[AccessRecord]:
    chain = list(CHAIN)
    chain[seq] = dataclasses.replace(chain[seq], **change)
    return chain


def problems(chain: list[AccessRecord]) -> list[tuple[int, str]]:
    return [(p.seq, p.kind) for p in validate_chain(chain)]


# (case, chain as stored) -> the problems found, each naming a seq.
TAMPERING: list[tuple[str, list[AccessRecord], list[tuple[int, str]]]] = [
    ("decision edited", edited(1, decision="allowed", reason=None, result_hash=RESULT.hex()),
     [(1, "modified")]),
    ("subject edited", edited(2, subject=OTHER_BANK), [(2, "modified")]),
    ("first record edited", edited(0, time=T0 + 100), [(0, "modified")]),
    ("prev_hash edited", edited(2, prev_hash="11" * 32), [(1, "modified"), (2, "modified")]),
    ("genesis edited", edited(0, prev_hash="11" * 32), [(0, "bad_genesis"), (0, "modified")]),
    ("record deleted", [CHAIN[0], CHAIN[1], CHAIN[3], CHAIN[4]], [(2, "missing")]),
    ("first record deleted", CHAIN[1:], [(0, "missing")]),
    ("two deleted", [CHAIN[0], CHAIN[3], CHAIN[4]], [(1, "missing"), (2, "missing")]),
    ("reordered", [CHAIN[0], CHAIN[1], CHAIN[3], CHAIN[2], CHAIN[4]], [(2, "reordered")]),
    ("moved to the end", [CHAIN[1], CHAIN[2], CHAIN[3], CHAIN[4], CHAIN[0]],
     [(0, "reordered")]),
    ("duplicated", [*CHAIN[:3], CHAIN[2], *CHAIN[3:]], [(2, "duplicate")]),
    ("renumbered after a deletion", [CHAIN[0], CHAIN[1],
                                     dataclasses.replace(CHAIN[3], seq=2),
                                     dataclasses.replace(CHAIN[4], seq=3)],
     [(1, "modified"), (2, "modified")]),
    # Not visible in the chain alone: the log and its anchored checkpoints catch these.
    ("last record edited", edited(4, subject=OTHER_BANK), []),
    ("last record deleted", CHAIN[:4], []),
]


@pytest.mark.parametrize(("case", "chain", "expected"), TAMPERING,
                         ids=[row[0] for row in TAMPERING])
def test_tampering_is_found_by_seq(case: str, chain: list[AccessRecord],
                                   expected: list[tuple[int, str]]) -> None:
    assert problems(chain) == expected


def test_problem_details() -> None:
    assert validate_chain([CHAIN[0], CHAIN[1], CHAIN[3], CHAIN[2], CHAIN[4]]) == [
        AccessProblem(2, "reordered", "seq 2 is stored after seq 3")]
    assert validate_chain(edited(1, purpose="GUARANTEE", actor=BANK)) == [
        AccessProblem(1, "modified", "the hash of seq 1 is not the prev_hash of seq 2")]
