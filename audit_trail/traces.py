"""Regulatory trace events: what happened to a regulated object, when, recorded by whom.

"Monitoring information traceable over the whole process" (监管信息全程可溯): each food
lot, drug batch, construction project, enterprise and waste truck has its own chain of
events. An event names the hash of its subject's previous event, so a regulator who
holds any one event can walk back to the first. The payload (inspection report, weigh
ticket, shipping note) stays with the department; only its SHA-256 goes in the log.

The log entry is the JCS (RFC 8785) bytes of ``TraceEvent.to_json()``; the database
row keeps the same fields, so an edit to either is caught by the audit.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from audit_trail.chains import (
    ChainLink,
    Finding,
    StrictReader,
    chain_hash,
    find_link_problem,
    load_entry_json,
    validate_canonical_usci,
    validate_hash_hex,
    validate_seq,
)
from license_registry.errors import FormatError, InvalidInput
from license_registry.identifiers import validate_usci
from license_registry.jcs import canonicalize
from license_registry.license_types import validate_unix_time
from license_registry.presented import UUID_URN

TRACE_KIND = "trace"
SUBJECT_ID = re.compile(r"[A-Za-z0-9-]{1,64}")  # lot, batch, project or plate codes
TRACE_KEYS = frozenset({"kind", "eventId", "subjectKind", "subjectId", "eventType", "actor",
                        "time", "payloadHash", "prevEventHash", "seq"})


class SubjectKind(StrEnum):
    FOOD_LOT = "FOOD_LOT"
    DRUG_BATCH = "DRUG_BATCH"
    CONSTRUCTION_PROJECT = "CONSTRUCTION_PROJECT"
    ENTERPRISE = "ENTERPRISE"  # identified by its USCI
    WASTE_TRUCK = "WASTE_TRUCK"  # "one truck one code": the truck's registered code


# The events each kind of subject can have; a table, so a new event type is data, not code.
EVENT_TYPES: Mapping[SubjectKind, frozenset[str]] = MappingProxyType({
    SubjectKind.FOOD_LOT: frozenset({
        "PRODUCED", "INSPECTED", "SHIPPED", "RECEIVED", "SOLD", "RECALLED", "DESTROYED"}),
    SubjectKind.DRUG_BATCH: frozenset({
        "MANUFACTURED", "RELEASED", "INSPECTED", "SHIPPED", "RECEIVED", "DISPENSED",
        "RECALLED", "DESTROYED"}),
    SubjectKind.CONSTRUCTION_PROJECT: frozenset({
        "PERMITTED", "STARTED", "INSPECTED", "RECTIFICATION_ORDERED", "RECTIFIED",
        "SUSPENDED", "COMPLETED", "ACCEPTED"}),
    SubjectKind.ENTERPRISE: frozenset({
        "REGISTERED", "INSPECTED", "PENALIZED", "RECTIFIED", "LICENSED", "DEREGISTERED"}),
    SubjectKind.WASTE_TRUCK: frozenset({
        "REGISTERED", "DISPATCHED", "COLLECTED", "WEIGHED", "UNLOADED", "INSPECTED",
        "DECOMMISSIONED"}),
})


@dataclass(frozen=True)
class TraceEvent:
    event_id: str  # urn:uuid
    subject_kind: SubjectKind
    subject_id: str
    event_type: str
    actor: str  # USCI of the department that recorded the event
    time: int  # unix seconds of the event
    payload_hash: str  # SHA-256 hex of the payload, which never enters the log
    prev_event_hash: str | None  # event_hash hex of this subject's previous event
    seq: int  # 0 for a subject's first event

    @property
    def subject(self) -> tuple[SubjectKind, str]:
        return self.subject_kind, self.subject_id

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": TRACE_KIND, "eventId": self.event_id,
            "subjectKind": self.subject_kind.value, "subjectId": self.subject_id,
            "eventType": self.event_type, "actor": self.actor, "time": self.time,
            "payloadHash": self.payload_hash, "prevEventHash": self.prev_event_hash,
            "seq": self.seq,
        }


def parse_subject_kind(value: object, field: str = "subjectKind") -> SubjectKind:
    if isinstance(value, str) and value in set(SubjectKind):
        return SubjectKind(value)
    raise InvalidInput(f"{field} {value!r} is not one of {', '.join(SubjectKind)}", field=field)


def validate_subject_id(kind: SubjectKind, value: object, field: str = "subjectId") -> str:
    """An enterprise is named by its USCI; other subjects by a code of 1-64 [A-Za-z0-9-]."""
    if kind is SubjectKind.ENTERPRISE:
        return validate_usci(value, field)
    if not isinstance(value, str) or not SUBJECT_ID.fullmatch(value):
        raise InvalidInput(f"{field} of a {kind.value} must be 1 to 64 letters, digits or "
                           "'-'", field=field)
    return value


def validate_event_type(kind: SubjectKind, value: object, field: str = "eventType") -> str:
    allowed = EVENT_TYPES[kind]
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(f"{field} {value!r} is not an event of a {kind.value}; one of "
                           f"{', '.join(sorted(allowed))}", field=field)
    return value


def validate_event_id(value: object, field: str = "eventId") -> str:
    if not isinstance(value, str) or not UUID_URN.fullmatch(value):
        raise InvalidInput(f"{field} must be urn:uuid: and a lowercase UUID", field=field)
    return value


def build_trace_event(*, event_id: str, subject_kind: SubjectKind | str, subject_id: str,
                      event_type: str, actor: str, time: int, payload_hash: str,
                      previous: TraceEvent | None = None) -> TraceEvent:
    """A validated event, linked to ``previous`` (this subject's last event; None if first).

    The link and seq are computed here, never taken from a caller, so a chain built with
    this function is valid by construction.
    """
    kind = parse_subject_kind(subject_kind)
    subject = validate_subject_id(kind, subject_id)
    if previous is not None and previous.subject != (kind, subject):
        raise InvalidInput(f"the previous event is of {previous.subject_kind.value} "
                           f"{previous.subject_id}, not of {kind.value} {subject}",
                           field="previous")
    return TraceEvent(
        event_id=validate_event_id(event_id), subject_kind=kind, subject_id=subject,
        event_type=validate_event_type(kind, event_type),
        actor=validate_usci(actor, "actor"), time=validate_unix_time(time, "time"),
        payload_hash=validate_hash_hex(payload_hash, "payloadHash"),
        prev_event_hash=None if previous is None else event_hash(previous).hex(),
        seq=0 if previous is None else previous.seq + 1,
    )


def trace_entry(event: TraceEvent) -> bytes:
    """The bytes appended to the traces log: JCS of the event's JSON."""
    return canonicalize(event.to_json())


def event_hash(event: TraceEvent) -> bytes:
    """What the subject's next event names as ``prevEventHash`` (hex)."""
    return chain_hash(trace_entry(event))


def trace_from_json(document: object) -> TraceEvent:
    """Strictly parse an event's JSON; FormatError ``bad_trace_event`` names the field."""
    r = StrictReader(document, "traceEvent", "bad_trace_event", TRACE_KEYS)
    if r.document["kind"] != TRACE_KIND:
        r.fail("kind", f"must be {TRACE_KIND!r}")
    kind = r.convert("subjectKind", parse_subject_kind)
    subject = r.convert("subjectId", lambda v: (
        validate_canonical_usci(v, "subjectId") if kind is SubjectKind.ENTERPRISE
        else validate_subject_id(kind, v)))
    return TraceEvent(
        event_id=r.convert("eventId", validate_event_id), subject_kind=kind,
        subject_id=subject, event_type=r.convert("eventType",
                                                 lambda v: validate_event_type(kind, v)),
        actor=r.convert("actor", lambda v: validate_canonical_usci(v, "actor")),
        time=r.convert("time", lambda v: validate_unix_time(v, "time")),
        payload_hash=r.convert("payloadHash", lambda v: validate_hash_hex(v, "payloadHash")),
        prev_event_hash=r.optional_hash("prevEventHash"),
        seq=r.convert("seq", validate_seq),
    )


def trace_from_entry(entry: bytes) -> TraceEvent:
    """Parse log entry bytes; they must be exactly the JCS of the event they hold."""
    event = trace_from_json(load_entry_json(entry, "bad_trace_event"))
    if trace_entry(event) != entry:
        raise FormatError("trace entry is not in canonical JCS form", code="bad_trace_event")
    if (event.seq == 0) != (event.prev_event_hash is None):
        raise FormatError("traceEvent.prevEventHash must be null exactly when seq is 0",
                          field="traceEvent.prevEventHash", code="bad_trace_event")
    return event


def validate_subject_chain(events: Iterable[TraceEvent]) -> list[Finding]:
    """Findings for broken links and gaps, each subject's events taken in the given order.

    Every subject must start at seq 0; the findings name the event at fault by seq and id.
    """
    last: dict[tuple[SubjectKind, str], ChainLink] = {}
    findings: list[Finding] = []
    for event in events:
        problem = find_link_problem(last.get(event.subject), event.seq, event.prev_event_hash)
        if problem is not None:
            code, detail = problem
            findings.append(Finding(code, f"{event.subject_kind.value} {event.subject_id}: "
                                          f"{detail}", seq=event.seq, entry_id=event.event_id))
        last[event.subject] = ChainLink(event.seq, event_hash(event))
    return findings
