"""Sample logs for the audit tests: real entries, real signed checkpoints, real proofs."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

from nacl.signing import SigningKey

from anchoring.checkpoint import Checkpoint
from anchoring.merkle import leaf_hash, root_from_leaf_hashes
from anchoring.note import Ed25519Signer, sign_note
from audit_trail.exchanges import ExchangeRecord, build_exchange_record, exchange_entry
from audit_trail.traces import TraceEvent, build_trace_event, trace_entry

MARKET = "91350100M000100Y43"  # market supervision (a valid USCI)
TAX = "91110000600037341L"  # tax bureau (a valid USCI)
T0 = 1_718_000_000
EXCHANGES_ORIGIN = "city.example/exchanges"
TRACES_ORIGIN = "city.example/traces"
EXCHANGES_SIGNER = Ed25519Signer(EXCHANGES_ORIGIN, SigningKey(bytes(range(32))))
TRACES_SIGNER = Ed25519Signer(TRACES_ORIGIN, SigningKey(bytes(range(1, 33))))
STRANGER = Ed25519Signer(EXCHANGES_ORIGIN, SigningKey(bytes(range(2, 34))))
SIZES = (10, 20, 30, 40)


def h(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def uuid_urn(n: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{n:012x}"


def exchange_records(count: int = 40) -> list[ExchangeRecord]:
    records: list[ExchangeRecord] = []
    for i in range(count):
        refused = i % 7 == 3
        records.append(build_exchange_record(
            records[-1] if records else None,
            kind="credit_query" if i % 5 == 4 else "exchange", time=T0 + 60 * i,
            requester=MARKET if i % 2 else TAX, provider=TAX if i % 2 else "platform",
            dataset="CR-PEN" if i % 5 == 4 else "HOUSEHOLD", subject_hash=h(f"subject {i % 6}"),
            purpose="LOAN_REVIEW" if i % 5 == 4 else "SOCIAL_SECURITY",
            legal_basis="City data-sharing regulation art. 12", result_hash=h(f"result {i}"),
            decision="refused" if refused else "allowed",
            reason="consent_expired" if refused else None,
            consent_id=uuid_urn(i) if i % 5 == 4 else None))
    return records


SUBJECTS = (("FOOD_LOT", "LOT-2024-0001", ("PRODUCED", "INSPECTED", "SHIPPED", "RECEIVED",
                                           "SOLD", "RECALLED")),
            ("WASTE_TRUCK", "E-A1234", ("DISPATCHED", "COLLECTED", "WEIGHED", "UNLOADED")),
            ("ENTERPRISE", TAX, ("INSPECTED", "PENALIZED", "RECTIFIED")))


def trace_events(count: int = 40) -> list[TraceEvent]:
    """Events of three subjects, interleaved as they would arrive."""
    last: dict[str, TraceEvent] = {}
    events = []
    for i in range(count):
        kind, subject, types = SUBJECTS[i % 3]
        previous = last.get(subject)
        event = build_trace_event(
            event_id=uuid_urn(1000 + i), subject_kind=kind, subject_id=subject,
            event_type=types[(0 if previous is None else previous.seq + 1) % len(types)],
            actor=MARKET, time=T0 + 3600 * i, payload_hash=h(f"payload {i}"),
            previous=previous)
        last[subject] = event
        events.append(event)
    return events


@dataclass(frozen=True)
class SampleLog:
    entries: list[bytes]
    leaves: list[bytes]
    notes: list[bytes]  # signed checkpoints at SIZES
    anchored: dict[int, bytes]

    def rows(self) -> list[tuple[int, bytes]]:
        return list(enumerate(self.entries))

    def leaf_rows(self) -> list[tuple[int, bytes]]:
        return list(enumerate(self.leaves))

    def root(self, size: int) -> bytes:
        return root_from_leaf_hashes(self.leaves[:size])


def signed_checkpoint(origin: str, size: int, root: bytes, signer: Ed25519Signer) -> bytes:
    return sign_note(Checkpoint(origin, size, root).body(), [signer])


def make_log(entries: Sequence[bytes], origin: str, signer: Ed25519Signer,
             sizes: Sequence[int] = SIZES) -> SampleLog:
    leaves = [leaf_hash(e) for e in entries]
    roots = {s: root_from_leaf_hashes(leaves[:s]) for s in sizes}
    return SampleLog(list(entries), leaves,
                     [signed_checkpoint(origin, s, roots[s], signer) for s in sizes], roots)


EXCHANGES = exchange_records()
EXCHANGE_LOG = make_log([exchange_entry(r) for r in EXCHANGES], EXCHANGES_ORIGIN,
                        EXCHANGES_SIGNER)
TRACES = trace_events()
TRACE_LOG = make_log([trace_entry(e) for e in TRACES], TRACES_ORIGIN, TRACES_SIGNER)
