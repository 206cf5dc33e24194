"""The data-exchange log: every exchange between departments, and every bank credit
query, as a hash-chained record appended to an anchored RFC 9162 log.

Appends are serialized by locking the log's row first (the chain needs the previous
record), so two concurrent appends can never take the same seq.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from anchoring.store_sql import logs
from audit_trail.exchanges import (
    Decision,
    ExchangeKind,
    ExchangeRecord,
    build_exchange_record,
    exchange_entry,
)
from trust_api.license_logs import LicenseLogs
from trust_api.tables_audit import exchange_records

EXCHANGE_LOG = "exchanges"


def subject_hash(subject: str) -> str:
    """The exchange log names data subjects only by this hash (never the raw id)."""
    return hashlib.sha256(f"citychain-subject:{subject}".encode()).hexdigest()


def record_of(row: Any) -> ExchangeRecord:
    return ExchangeRecord(
        kind=ExchangeKind(row.kind), seq=int(row.seq), prev_hash=row.prev_hash, time=int(row.time),
        requester=row.requester, provider=row.provider, dataset=row.dataset,
        subject_hash=row.subject_hash, purpose=row.purpose, legal_basis=row.legal_basis,
        result_hash=row.result_hash, decision=Decision(row.decision), reason=row.reason,
        consent_id=row.consent_id, operator=row.operator,
        scopes=None if row.scopes is None else tuple(row.scopes.split(",")))


def row_document(row: Any) -> dict[str, Any]:
    """The row as its log entry's JSON, without validation: the regulator must be able to
    read (and flag) a row that was edited into something invalid."""
    document: dict[str, Any] = {
        "kind": row.kind, "seq": row.seq, "prevHash": row.prev_hash, "time": row.time,
        "requester": row.requester, "provider": row.provider, "dataset": row.dataset,
        "subjectHash": row.subject_hash, "purpose": row.purpose,
        "legalBasis": row.legal_basis, "resultHash": row.result_hash,
        "decision": row.decision}
    optional = {"reason": row.reason, "consentId": row.consent_id, "operator": row.operator,
                "scopes": None if row.scopes is None else row.scopes.split(",")}
    document.update({k: v for k, v in optional.items() if v is not None})
    return document


def to_json(row: Any) -> dict[str, Any]:
    return {**row_document(row), "logIndex": int(row.log_index)}


class ExchangeLog:
    def __init__(self, engine: Engine, logs_: LicenseLogs) -> None:
        self.engine = engine
        self.logs = logs_

    def ready(self) -> None:
        """Open (create) the log before a write transaction needs it."""
        self.logs.named(EXCHANGE_LOG)

    def append_in(self, conn: Connection, **fields: Any) -> ExchangeRecord:
        log = self.logs.named(EXCHANGE_LOG)
        conn.execute(select(logs.c.id).where(logs.c.id == log.store.log_id).with_for_update())
        last = conn.execute(select(exchange_records).order_by(exchange_records.c.seq.desc())
                            .limit(1)).first()
        scopes = fields.pop("scopes", None)
        record = build_exchange_record(None if last is None else record_of(last),
                                       scopes=None if scopes is None else tuple(scopes),
                                       **fields)
        index = log.append_in(conn, [exchange_entry(record)])
        conn.execute(insert(exchange_records).values(
            seq=record.seq, kind=record.kind.value, prev_hash=record.prev_hash, time=record.time,
            requester=record.requester, provider=record.provider, operator=record.operator,
            dataset=record.dataset, subject_hash=record.subject_hash, purpose=record.purpose,
            scopes=None if record.scopes is None else ",".join(record.scopes),
            legal_basis=record.legal_basis, result_hash=record.result_hash,
            decision=record.decision.value, reason=record.reason, consent_id=record.consent_id,
            log_index=index))
        return record

    def record(self, requester: str, body: dict[str, Any], now: int) -> dict[str, Any]:
        """A department reports an exchange it made (the platform records the requester)."""
        from trust_api.db import write_transaction

        self.ready()
        with write_transaction(self.engine) as conn:
            record = self.append_in(
                conn, kind="exchange", time=now, requester=requester,
                provider=body.get("provider"), dataset=body.get("dataset"),
                subject_hash=body.get("subjectHash"), purpose=body.get("purpose"),
                legal_basis=body.get("legalBasis"), result_hash=body.get("resultHash"),
                decision=body.get("decision", "allowed"), reason=body.get("reason"))
        return record.to_json()

    def about(self, subject_hash_hex: str) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(exchange_records).where(
                exchange_records.c.subject_hash == subject_hash_hex)
                .order_by(exchange_records.c.seq)).all()
        return [to_json(r) for r in rows]
