"""Tables of the credit ledger and the audit trail (schema: trust_api/migrations 0002).

Rows keep the fields of the log entries, not a copy of the entry bytes: the regulator
rebuilds each entry from its row, so an edit to a row, a deleted row or rows moved
between log positions no longer match the anchored log.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from trust_api.tables import metadata

enterprise_keys = Table(
    "trust_enterprise_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("subject", String(18), nullable=False),
    Column("kid", LargeBinary(8), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("registered_by", String(18), nullable=False),
    Column("registered_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    UniqueConstraint("subject", "kid", name="uq_trust_enterprise_keys_subject_kid"),
)

credit_records = Table(
    "trust_credit_records", metadata,
    Column("id", String(45), primary_key=True),
    Column("subject", String(18), nullable=False, index=True),
    Column("record_type", String(8), nullable=False),
    Column("source_department", String(18), nullable=False),
    Column("effective_date", String(10), nullable=False),
    Column("content", Text, nullable=False),
    Column("recorded_at", BigInteger, nullable=False),
    Column("supersedes", String(45), nullable=True),
    Column("supersede_kind", String(16), nullable=True),
    Column("supersede_reason", String(500), nullable=True),
    Column("superseded_by", String(45), nullable=True),
    Column("log_index", BigInteger, nullable=False, unique=True),
    Column("submitted_by", LargeBinary(20), nullable=False),
)

consents = Table(
    "trust_consents", metadata,
    Column("id", String(45), primary_key=True),
    Column("grantor", String(18), nullable=False, index=True),
    Column("grantee", String(18), nullable=False, index=True),
    Column("state", String(16), nullable=False),
    Column("uses", Integer, nullable=False),
    Column("max_uses", Integer, nullable=False),
    Column("document", Text, nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
    Column("log_index", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

consent_changes = Table(
    "trust_consent_changes", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consent_id", String(45), nullable=False),
    Column("action", String(16), nullable=False),
    Column("nonce", String(64), nullable=False),
    Column("time", BigInteger, nullable=False),
    Column("document", Text, nullable=False),
    Column("log_index", BigInteger, nullable=False),
    UniqueConstraint("consent_id", "nonce", name="uq_trust_consent_changes_nonce"),
)

trace_events = Table(
    "trust_trace_events", metadata,
    Column("event_id", String(45), primary_key=True),
    Column("subject_kind", String(32), nullable=False),
    Column("subject_id", String(64), nullable=False),
    Column("event_type", String(32), nullable=False),
    Column("actor", String(18), nullable=False, index=True),
    Column("time", BigInteger, nullable=False),
    Column("payload_hash", String(64), nullable=False),
    Column("prev_event_hash", String(64), nullable=True),
    Column("seq", Integer, nullable=False),
    Column("log_index", BigInteger, nullable=False, unique=True),
    Index("ix_trust_trace_events_subject", "subject_kind", "subject_id", "seq"),
)

exchange_records = Table(
    "trust_exchange_records", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(16), nullable=False),
    Column("prev_hash", String(64), nullable=True),
    Column("time", BigInteger, nullable=False, index=True),
    Column("requester", String(18), nullable=False, index=True),
    Column("provider", String(18), nullable=False),
    Column("operator", String(42), nullable=True),
    Column("dataset", String(64), nullable=False),
    Column("subject_hash", String(64), nullable=False, index=True),
    Column("purpose", String(64), nullable=False),
    Column("scopes", String(200), nullable=True),
    Column("legal_basis", String(200), nullable=False),
    Column("result_hash", String(64), nullable=False),
    Column("decision", String(16), nullable=False),
    Column("reason", String(64), nullable=True),
    Column("consent_id", String(45), nullable=True),
    Column("log_index", BigInteger, nullable=False, unique=True),
)

audit_reports = Table(
    "trust_audit_reports", metadata,
    Column("id", String(45), primary_key=True),
    Column("created_by", String(18), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("report", Text, nullable=False),
)
