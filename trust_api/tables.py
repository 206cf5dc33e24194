"""The trust API's tables (schema from ``trust_api/migrations``; these mirror it).

Personal identifiers are stored only encrypted (``holder_id_enc``) and as salted
hashes; signing keys only encrypted. Status bits live in the status list rows, so
a revocation is one row update plus an event in the same transaction.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

issuer_keys = Table(
    "trust_issuer_keys", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("department", String(18), nullable=False),
    Column("kid", LargeBinary(8), nullable=False),
    Column("public_key", LargeBinary(32), nullable=False),
    Column("secret_key_enc", LargeBinary, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("revoked_at", BigInteger, nullable=True),
    Column("revocation_reason", Integer, nullable=True),
    UniqueConstraint("department", "kid", name="uq_trust_issuer_keys_department_kid"),
)

service_accounts = Table(
    "trust_service_accounts", metadata,
    Column("department", String(18), primary_key=True),
    Column("address", LargeBinary(20), nullable=False, unique=True),
    Column("private_key_enc", LargeBinary, nullable=False),
    Column("created_at", BigInteger, nullable=False),
)

licenses = Table(
    "trust_licenses", metadata,
    Column("id", String(45), primary_key=True),  # urn:uuid:...
    Column("department", String(18), nullable=False),
    Column("license_type", String(16), nullable=False),
    Column("license_number", String(64), nullable=False),
    Column("version", Integer, nullable=False),
    Column("holder_id_type", String(16), nullable=False),
    Column("holder_id_enc", LargeBinary, nullable=False),
    Column("holder_hash", String(64), nullable=False),
    Column("holder_masked", String(64), nullable=False),
    Column("subject", Text, nullable=False),
    Column("scope", String(500), nullable=False),
    Column("state", String(16), nullable=False),
    Column("updated_at", BigInteger, nullable=False),
    Column("issued_at", BigInteger, nullable=False),
    Column("valid_from", BigInteger, nullable=False),
    Column("valid_until", BigInteger, nullable=False),
    Column("kid", LargeBinary(8), nullable=False),
    Column("status_list", Integer, nullable=False),
    Column("status_index", Integer, nullable=False),
    Column("credential", Text, nullable=False),
    Column("city_code", Text, nullable=False),
    Column("credential_hash", LargeBinary(32), nullable=False),
    Column("log_index", BigInteger, nullable=False),
    Column("supersedes", String(45), nullable=True),
    Column("superseded_by", String(45), nullable=True),
    Column("issued_by", LargeBinary(20), nullable=False),
    UniqueConstraint("department", "license_type", "license_number", "version",
                     name="uq_trust_licenses_number_version"),
    UniqueConstraint("department", "status_list", "status_index", name="uq_trust_licenses_status"),
    Index("ix_trust_licenses_holder", "holder_hash"),
)

license_events = Table(
    "trust_license_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("license_id", String(45), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("actor", LargeBinary(20), nullable=False),
    Column("reason", String(500), nullable=True),
    Column("at", BigInteger, nullable=False),
)

status_lists = Table(
    "trust_status_lists", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("department", String(18), nullable=False),
    Column("number", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("allocated", LargeBinary, nullable=False),  # bitmap of used indices
    Column("allocated_count", Integer, nullable=False),
    Column("revocation", LargeBinary, nullable=False),
    Column("suspension", LargeBinary, nullable=False),
    Column("changed", Boolean, nullable=False),  # bits changed since the last publication
    Column("version", BigInteger, nullable=False),  # last published version (0: never)
    UniqueConstraint("department", "number", name="uq_trust_status_lists_department_number"),
)

status_publications = Table(
    "trust_status_publications", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("department", String(18), nullable=False),
    Column("number", Integer, nullable=False),
    Column("purpose", String(16), nullable=False),
    Column("version", BigInteger, nullable=False),
    Column("url", String(255), nullable=False),
    Column("list_id", LargeBinary(32), nullable=False),
    Column("digest", LargeBinary(32), nullable=False),
    Column("credential", Text, nullable=False),
    Column("published_at", BigInteger, nullable=False),
    UniqueConstraint("department", "number", "purpose", "version",
                     name="uq_trust_status_publications_version"),
)

nonces = Table(
    "trust_auth_nonces", metadata,
    Column("account", LargeBinary(20), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("expires_at", BigInteger, nullable=False, index=True),
)

# Chain writes waiting to be sent (the outbox): TrustList keys, status list digests.
chain_outbox = Table(
    "trust_chain_outbox", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("kind", String(32), nullable=False),
    Column("department", String(18), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(16), nullable=False),  # pending, done, failed
    Column("attempts", Integer, nullable=False),
    Column("last_error", String(1000), nullable=True),
    Column("tx_hash", LargeBinary(32), nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Index("ix_trust_chain_outbox_pending", "status", "id"),
)

jobs = Table(
    "trust_jobs", metadata,
    Column("id", String(36), primary_key=True),
    Column("department", String(18), nullable=False),
    Column("status", String(16), nullable=False),  # queued, running, succeeded, failed
    Column("total", Integer, nullable=False),
    Column("done", Integer, nullable=False),
    Column("error", Text, nullable=True),
    Column("created_at", BigInteger, nullable=False),
    Column("finished_at", BigInteger, nullable=True),
    Column("created_by", LargeBinary(20), nullable=False),
)
