"""Trace events: validation, JCS entries, strict parsing, per-subject hash chains."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pytest

from audit_trail.chains import CHAIN_BROKEN, CHAIN_GAP, Finding
from audit_trail.traces import (
    SubjectKind,
    TraceEvent,
    build_trace_event,
    event_hash,
    trace_entry,
    trace_from_entry,
    trace_from_json,
    validate_subject_chain,
)
from license_registry.errors import FormatError, InvalidInput

from .samples import MARKET, T0, TAX, TRACES, h, uuid_urn

FIRST: dict[str, Any] = {
    "event_id": uuid_urn(1), "subject_kind": "FOOD_LOT", "subject_id": "LOT-7",
    "event_type": "PRODUCED", "actor": MARKET, "time": T0, "payload_hash": h("ticket"),
}


def test_a_subject_chain_links_each_event_to_the_previous_one() -> None:
    first = build_trace_event(**FIRST)
    second = build_trace_event(**{**FIRST, "event_id": uuid_urn(2), "event_type": "SHIPPED",
                                  "time": T0 + 60}, previous=first)
    third = build_trace_event(**{**FIRST, "event_id": uuid_urn(3), "event_type": "RECALLED",
                                 "time": T0 + 120}, previous=second)
    assert [e.seq for e in (first, second, third)] == [0, 1, 2]
    assert first.prev_event_hash is None
    assert second.prev_event_hash == hashlib.sha256(trace_entry(first)).hexdigest()
    assert third.prev_event_hash == event_hash(second).hex()
    assert validate_subject_chain([first, second, third]) == []


def test_the_entry_is_the_jcs_of_the_event() -> None:
    assert trace_entry(build_trace_event(**FIRST)) == (
        '{"actor":"91350100M000100Y43","eventId":"urn:uuid:00000000-0000-4000-8000-000000000001",'
        '"eventType":"PRODUCED","kind":"trace","payloadHash":"' + h("ticket") + '",'
        '"prevEventHash":null,"seq":0,"subjectId":"LOT-7","subjectKind":"FOOD_LOT",'
        '"time":1718000000}').encode()


@pytest.mark.parametrize("event", TRACES[:7], ids=lambda e: f"seq{e.seq}-{e.subject_id}")
def test_entries_round_trip(event: TraceEvent) -> None:
    assert trace_from_entry(trace_entry(event)) == event
    assert trace_from_json(json.loads(trace_entry(event))) == event


def test_an_enterprise_is_named_by_its_usci_normalized() -> None:
    event = build_trace_event(**{**FIRST, "subject_kind": SubjectKind.ENTERPRISE,
                                 "subject_id": f" {TAX.lower()} ", "event_type": "PENALIZED"})
    assert event.subject_id == TAX


@pytest.mark.parametrize(("change", "field"), [
    ({"event_id": "urn:uuid:NOT-A-UUID"}, "eventId"),
    ({"subject_kind": "CAR"}, "subjectKind"),
    ({"subject_id": "LOT_7"}, "subjectId"),
    ({"subject_id": "L" * 65}, "subjectId"),
    ({"subject_id": ""}, "subjectId"),
    ({"subject_kind": "ENTERPRISE", "subject_id": "LOT-7", "event_type": "INSPECTED"},
     "subjectId"),
    ({"event_type": "WEIGHED"}, "eventType"),  # a truck's event, not a food lot's
    ({"actor": "91350100M000100Y44"}, "actor"),  # wrong check character
    ({"time": -1}, "time"),
    ({"time": 1.5}, "time"),
    ({"payload_hash": h("x").upper()}, "payloadHash"),
    ({"payload_hash": "ab" * 31}, "payloadHash"),
])
def test_invalid_events_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_trace_event(**{**FIRST, **change})
    assert caught.value.field == field


def test_the_previous_event_must_be_of_the_same_subject() -> None:
    other = build_trace_event(**{**FIRST, "subject_id": "LOT-8"})
    with pytest.raises(InvalidInput) as caught:
        build_trace_event(**FIRST, previous=other)
    assert caught.value.field == "previous"


SAMPLE = json.loads(trace_entry(TRACES[3]))


@pytest.mark.parametrize(("change", "field"), [
    ({"extra": 1}, "traceEvent"),
    ({"seq": None}, "traceEvent.seq"),
    ({"seq": "1"}, "traceEvent.seq"),
    ({"seq": True}, "traceEvent.seq"),
    ({"kind": "exchange"}, "traceEvent.kind"),
    ({"actor": MARKET.lower()}, "traceEvent.actor"),
    ({"eventType": "SOLD!"}, "traceEvent.eventType"),
    ({"prevEventHash": "00"}, "traceEvent.prevEventHash"),
    ({"time": 2**60}, "traceEvent.time"),
])
def test_strict_parsing_names_the_field(change: dict[str, Any], field: str) -> None:
    document = {k: v for k, v in {**SAMPLE, **change}.items() if v is not None}
    with pytest.raises(FormatError) as caught:
        trace_from_json(document)
    assert (caught.value.code, caught.value.field) == ("bad_trace_event", field)


@pytest.mark.parametrize(("entry", "message"), [
    (b"not json", "not JSON"),
    (json.dumps(SAMPLE, indent=1).encode(), "canonical"),
    (trace_entry(dataclasses.replace(TRACES[3], prev_event_hash=None)), "prevEventHash"),
])
def test_entry_bytes_must_be_canonical(entry: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        trace_from_entry(entry)


FOOD = [e for e in TRACES if e.subject_id == "LOT-2024-0001"][:5]
EDITED = dataclasses.replace(FOOD[1], payload_hash=h("forged"))


@pytest.mark.parametrize(("events", "expected"), [
    (TRACES, []),
    (FOOD, []),
    (FOOD[:2] + FOOD[3:], [(CHAIN_GAP, 3, FOOD[3].event_id)]),
    ([FOOD[0], EDITED, *FOOD[2:]], [(CHAIN_BROKEN, 2, FOOD[2].event_id)]),
    ([FOOD[0], FOOD[2], FOOD[1], *FOOD[3:]],
     [(CHAIN_GAP, 2, FOOD[2].event_id), (CHAIN_BROKEN, 1, FOOD[1].event_id),
      (CHAIN_GAP, 3, FOOD[3].event_id)]),
    (FOOD[1:], [(CHAIN_GAP, 1, FOOD[1].event_id)]),
    ([FOOD[0], dataclasses.replace(FOOD[0], event_id=uuid_urn(9),
                                   prev_event_hash=h("x"))],
     [(CHAIN_BROKEN, 0, uuid_urn(9))]),
], ids=["three-subjects", "one-subject", "deleted", "edited", "swapped", "no-first",
        "repeated-seq"])
def test_subject_chain_findings_name_the_event(events: list[TraceEvent],
                                               expected: list[tuple[str, int, str]]) -> None:
    findings = validate_subject_chain(events)
    assert [(f.code, f.seq, f.entry_id) for f in findings] == expected
    assert all(isinstance(f, Finding) and f.index is None for f in findings)
