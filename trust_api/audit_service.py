"""Regulatory traces and the regulator's audit of every platform log.

Verification rebuilds each log entry from its business row (not from a stored copy of
the entry), reads the log's leaves and signed checkpoints, and checks them against the
root anchored on chain: an edited, deleted or moved row, or an edited leaf, is named.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select

from anchoring.anchored_log import chain_log_id
from anchoring.errors import InvalidProof
from anchoring.merkle import leaf_hash, verify_inclusion
from anchoring.store_sql import leaves, logs, outbox
from anchoring.worker import AnchorOnChain
from audit_trail.audit import AuditResult, audit_log
from audit_trail.report import build_report
from audit_trail.traces import (
    TRACE_KIND,
    SubjectKind,
    TraceEvent,
    build_trace_event,
    parse_subject_kind,
    trace_entry,
    validate_subject_id,
)
from credit_ledger.records import record_entry
from license_registry.errors import Conflict, Forbidden, InvalidInput, NotFound
from license_registry.jcs import canonicalize
from license_registry.trust import ROLE_REGULATOR, AnchoredCheckpoint
from trust_api.credit_service import CONSENT_LOG, CREDIT_LOG, _record
from trust_api.db import write_transaction
from trust_api.exchange_log import EXCHANGE_LOG, row_document
from trust_api.license_logs import LicenseLogs
from trust_api.tables_audit import (
    audit_reports,
    consent_changes,
    consents,
    credit_records,
    exchange_records,
    trace_events,
)
from trust_api.trust_state import TrustState

TRACE_LOG = "traces"
AUDITED_LOGS = (TRACE_LOG, EXCHANGE_LOG, CREDIT_LOG, CONSENT_LOG)
MAX_REPORT_ENTRIES = 10_000
STREAM_BATCH = 1000  # rows fetched at a time when a whole log is read


def _event(row: Any) -> TraceEvent:
    return TraceEvent(row.event_id, SubjectKind(row.subject_kind), row.subject_id,
                      row.event_type, row.actor, int(row.time), row.payload_hash,
                      row.prev_event_hash, int(row.seq))


def trace_row_document(row: Any) -> dict[str, Any]:
    """The row as its log entry's JSON, without validation (an edited row may be invalid)."""
    return {"kind": TRACE_KIND, "eventId": row.event_id, "subjectKind": row.subject_kind,
            "subjectId": row.subject_id, "eventType": row.event_type, "actor": row.actor,
            "time": row.time, "payloadHash": row.payload_hash,
            "prevEventHash": row.prev_event_hash, "seq": row.seq}


class AnchorHistory(Protocol):
    def anchors_of(self, log_id: bytes) -> list[AnchoredCheckpoint]: ...


class AuditService:
    def __init__(self, engine: Engine, trust: TrustState, logs_: LicenseLogs,
                 chain: AnchorHistory) -> None:
        self.engine = engine
        self.trust = trust
        self.logs = logs_
        self.chain = chain

    # ---- traces ----

    def append_trace(self, department: str, body: dict[str, Any], now: int) -> dict[str, Any]:
        kind = parse_subject_kind(body.get("subjectKind"))
        subject = validate_subject_id(kind, body.get("subjectId"))
        log = self.logs.named(TRACE_LOG)
        with write_transaction(self.engine) as conn:
            conn.execute(select(logs.c.id).where(logs.c.id == log.store.log_id).with_for_update())
            last = conn.execute(select(trace_events).where(
                trace_events.c.subject_kind == kind.value, trace_events.c.subject_id == subject)
                .order_by(trace_events.c.seq.desc()).limit(1)).first()
            event = build_trace_event(
                event_id=f"urn:uuid:{uuid.uuid4()}", subject_kind=kind, subject_id=subject,
                event_type=body.get("eventType"), actor=department,  # type: ignore[arg-type]
                time=body.get("time", now), payload_hash=body.get("payloadHash"),  # type: ignore[arg-type]
                previous=None if last is None else _event(last))
            if event.time > now + 300:
                raise InvalidInput("the event time is in the future", field="time")
            index = log.append_in(conn, [trace_entry(event)])
            conn.execute(insert(trace_events).values(
                event_id=event.event_id, subject_kind=kind.value, subject_id=subject,
                event_type=event.event_type, actor=department, time=event.time,
                payload_hash=event.payload_hash, prev_event_hash=event.prev_event_hash,
                seq=event.seq, log_index=index))
        return {**event.to_json(), "logIndex": index}

    def trace(self, department: str, roles_ok: bool, kind: str, subject_id: str) -> dict[str, Any]:
        """A subject's full trace with each event's inclusion proof against the anchored
        checkpoint; for regulators and the departments that recorded events of it."""
        subject_kind = parse_subject_kind(kind)
        subject = validate_subject_id(subject_kind, subject_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(trace_events).where(
                trace_events.c.subject_kind == subject_kind.value,
                trace_events.c.subject_id == subject).order_by(trace_events.c.seq)).all()
        if not rows:
            raise NotFound(f"no trace of {subject_kind.value} {subject}")
        if not roles_ok and department not in {r.actor for r in rows}:
            raise Forbidden(f"department {department} neither regulates nor recorded events of "
                            f"{subject_kind.value} {subject}")
        log = self.logs.named(TRACE_LOG)
        anchored, note = self._anchored(log.origin)
        events = []
        for r in rows:
            proof = (log.inclusion_proof(int(r.log_index), anchored.size)
                     if anchored is not None and r.log_index < anchored.size else None)
            events.append({**_event(r).to_json(), "logIndex": r.log_index,
                           "proof": None if proof is None else [p.hex() for p in proof]})
        return {"subjectKind": subject_kind.value, "subjectId": subject, "events": events,
                "log": {"origin": log.origin, "verifierKey": log.signer.verifier().vkey()},
                "checkpoint": None if note is None else note.decode(),
                "anchored": None if anchored is None else {
                    "size": anchored.size, "root": anchored.root.hex(),
                    "blockNumber": anchored.block_number}}

    # ---- the regulator ----

    def _anchored(self, origin: str) -> tuple[AnchorOnChain | None, bytes | None]:
        found = self.trust.current().checkpoints.get(chain_log_id(origin))
        if found is None:
            return None, None
        with self.engine.connect() as conn:
            note = conn.execute(select(outbox.c.checkpoint).where(
                outbox.c.origin == origin, outbox.c.size == found.size)).scalar()
        return AnchorOnChain(found.size, found.root, found.block_number), \
            None if note is None else bytes(note)

    def _rows(self, name: str, query: dict[str, Any] | None = None) -> list[tuple[int, Any]]:
        """(log index, entry) of the log's business rows, optionally filtered."""
        return list(self._stream_rows(name, query))

    def _stream_rows(self, name: str, query: dict[str, Any] | None = None
                     ) -> Iterator[tuple[int, Any]]:
        """The same, streamed in batches (a server-side cursor on PostgreSQL): the audit
        of a whole log holds one batch of rows at a time, not the log."""
        q = query or {}
        with self.engine.connect() as conn:
            conn = conn.execution_options(yield_per=STREAM_BATCH)
            if name == TRACE_LOG:
                stmt = select(trace_events).order_by(trace_events.c.log_index)
                if q.get("subjectKind"):
                    stmt = stmt.where(trace_events.c.subject_kind == q["subjectKind"])
                if q.get("subjectId"):
                    stmt = stmt.where(trace_events.c.subject_id == q["subjectId"])
                if q.get("department"):
                    stmt = stmt.where(trace_events.c.actor == q["department"])
                stmt = _time_range(stmt, trace_events.c.time, q)
                yield from ((r.log_index, canonicalize(trace_row_document(r)))
                            for r in conn.execute(stmt))
                return
            if name == EXCHANGE_LOG:
                stmt = select(exchange_records).order_by(exchange_records.c.log_index)
                if q.get("department"):
                    stmt = stmt.where((exchange_records.c.requester == q["department"])
                                      | (exchange_records.c.provider == q["department"]))
                if q.get("dataset"):
                    stmt = stmt.where(exchange_records.c.dataset == q["dataset"])
                if q.get("subjectHash"):
                    stmt = stmt.where(exchange_records.c.subject_hash == q["subjectHash"])
                if q.get("kind"):
                    stmt = stmt.where(exchange_records.c.kind == q["kind"])
                stmt = _time_range(stmt, exchange_records.c.time, q)
                yield from ((r.log_index, canonicalize(row_document(r)))
                            for r in conn.execute(stmt))
                return
            if name == CREDIT_LOG:
                stmt = select(credit_records).order_by(credit_records.c.log_index)
                if q.get("subjectId"):
                    stmt = stmt.where(credit_records.c.subject == q["subjectId"])
                if q.get("department"):
                    stmt = stmt.where(credit_records.c.source_department == q["department"])
                stmt = _time_range(stmt, credit_records.c.recorded_at, q)
                yield from ((r.log_index, record_entry(_record(r))) for r in conn.execute(stmt))
                return
            if name == CONSENT_LOG:
                docs = [(r.log_index, canonicalize(json.loads(r.document))) for r in conn.execute(
                    select(consents.c.log_index, consents.c.document))]
                docs += [(r.log_index, canonicalize(json.loads(r.document))) for r in conn.execute(
                    select(consent_changes.c.log_index, consent_changes.c.document))]
                yield from sorted(docs, key=lambda pair: pair[0])
                return
        raise NotFound(f"no log {name!r}: one of {', '.join(AUDITED_LOGS)}")

    def entries(self, name: str, query: dict[str, Any]) -> list[dict[str, Any]]:
        rows = self._rows(name, query)
        if len(rows) > MAX_REPORT_ENTRIES:
            raise InvalidInput(f"{len(rows)} entries match; narrow the query", field="query")
        return [{"index": index, "entry": json.loads(entry)} for index, entry in rows]

    def verify(self, name: str) -> AuditResult:
        if name not in AUDITED_LOGS:
            raise NotFound(f"no log {name!r}: one of {', '.join(AUDITED_LOGS)}")
        log = self.logs.named(name)
        # The chain's anchors are the reference; signed checkpoints not anchored yet are
        # left out (their entries are reported as beyond the anchored size, not as faults).
        anchored = {a.size: a.root for a in self.chain.anchors_of(chain_log_id(log.origin))}

        def leaf_rows() -> Iterator[tuple[int, bytes]]:
            with self.engine.connect() as conn:
                conn = conn.execution_options(yield_per=STREAM_BATCH)
                result = conn.execute(select(leaves.c.idx, leaves.c.leaf_hash).where(
                    leaves.c.log_id == log.store.log_id).order_by(leaves.c.idx))
                for row in result:
                    yield int(row.idx), bytes(row.leaf_hash)

        with self.engine.connect() as conn:
            notes = [bytes(r.checkpoint) for r in conn.execute(
                select(outbox.c.size, outbox.c.checkpoint).where(outbox.c.origin == log.origin)
                .order_by(outbox.c.size)) if int(r.size) in anchored]
        return audit_log(entries=self._stream_rows(name), leaves=leaf_rows(), checkpoints=notes,
                         verifier=log.signer.verifier(), origin=log.origin, anchored=anchored)

    def report(self, regulator: str, name: str, query: dict[str, Any],
               now: int) -> dict[str, Any]:
        result = self.verify(name)
        log = self.logs.named(name)
        anchored, note = self._anchored(log.origin)
        if anchored is None or note is None:
            raise Conflict(f"log {name} has no anchored checkpoint yet", code="not_anchored_yet")
        selected = [i for i, _e in self._rows(name, query) if i < anchored.size]
        if len(selected) > MAX_REPORT_ENTRIES:
            raise InvalidInput(f"{len(selected)} entries match; narrow the query to at most "
                               f"{MAX_REPORT_ENTRIES}", field="query")
        # The report carries entries as the log holds them, each proven against the anchored
        # root; rows that no longer match their log entry are listed among the findings.
        entries = []
        for index in selected:
            entry = log.store.get_entry(index)
            proof = log.inclusion_proof(index, anchored.size)
            try:
                verify_inclusion(leaf_hash(entry or b""), index, anchored.size, proof,
                                 anchored.root)
            except InvalidProof:
                continue  # the log tables were edited: the findings name this index
            entries.append((index, entry or b"", proof))
        report = build_report(
            title=f"Audit of {log.origin}", generated_at=now,
            query={k: v for k, v in query.items() if v is not None}, log_origin=log.origin,
            log_vkey=log.signer.verifier().vkey(), entries=entries, checkpoint_note=note,
            anchored=anchored, findings=result.findings)
        report_id = f"urn:uuid:{uuid.uuid4()}"
        with write_transaction(self.engine) as conn:
            conn.execute(insert(audit_reports).values(
                id=report_id, created_by=regulator, created_at=now,
                report=json.dumps(report, ensure_ascii=False)))
        return {"id": report_id, "report": report}

    def stored_report(self, regulator: str, report_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(audit_reports).where(audit_reports.c.id == report_id)).first()
        if row is None or row.created_by != regulator:
            raise NotFound(f"no report {report_id} of {regulator}")
        return json.loads(row.report)  # type: ignore[no-any-return]


def _time_range(stmt: Any, column: Any, query: dict[str, Any]) -> Any:
    if query.get("timeFrom") is not None:
        stmt = stmt.where(column >= int(query["timeFrom"]))
    if query.get("timeUntil") is not None:
        stmt = stmt.where(column < int(query["timeUntil"]))
    return stmt


def is_regulator(roles_ok: int) -> bool:
    return bool(roles_ok & ROLE_REGULATOR)
