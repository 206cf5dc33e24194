"""Credit ledger and audit trail tables: enterprise keys, credit records, consents and
their changes, regulatory trace events, data-exchange records, audit reports.

Revision ID: 0002_credit_audit_tables
Revises: 0001_trust_api_tables
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0002_credit_audit_tables'
down_revision = '0001_trust_api_tables'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trust_audit_reports',
    sa.Column('id', sa.String(length=45), nullable=False),
    sa.Column('created_by', sa.String(length=18), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('report', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('trust_consent_changes',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('consent_id', sa.String(length=45), nullable=False),
    sa.Column('action', sa.String(length=16), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('consent_id', 'nonce', name='uq_trust_consent_changes_nonce')
    )
    op.create_table('trust_consents',
    sa.Column('id', sa.String(length=45), nullable=False),
    sa.Column('grantor', sa.String(length=18), nullable=False),
    sa.Column('grantee', sa.String(length=18), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('uses', sa.Integer(), nullable=False),
    sa.Column('max_uses', sa.Integer(), nullable=False),
    sa.Column('document', sa.Text(), nullable=False),
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_trust_consents_grantee'), 'trust_consents', ['grantee'], unique=False)
    op.create_index(op.f('ix_trust_consents_grantor'), 'trust_consents', ['grantor'], unique=False)
    op.create_table('trust_credit_records',
    sa.Column('id', sa.String(length=45), nullable=False),
    sa.Column('subject', sa.String(length=18), nullable=False),
    sa.Column('record_type', sa.String(length=8), nullable=False),
    sa.Column('source_department', sa.String(length=18), nullable=False),
    sa.Column('effective_date', sa.String(length=10), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('recorded_at', sa.BigInteger(), nullable=False),
    sa.Column('supersedes', sa.String(length=45), nullable=True),
    sa.Column('supersede_kind', sa.String(length=16), nullable=True),
    sa.Column('supersede_reason', sa.String(length=500), nullable=True),
    sa.Column('superseded_by', sa.String(length=45), nullable=True),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('submitted_by', sa.LargeBinary(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('log_index')
    )
    op.create_index(op.f('ix_trust_credit_records_subject'), 'trust_credit_records', ['subject'], unique=False)
    op.create_table('trust_enterprise_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('subject', sa.String(length=18), nullable=False),
    sa.Column('kid', sa.LargeBinary(length=8), nullable=False),
    sa.Column('public_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('registered_by', sa.String(length=18), nullable=False),
    sa.Column('registered_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('subject', 'kid', name='uq_trust_enterprise_keys_subject_kid')
    )
    op.create_table('trust_exchange_records',
    sa.Column('seq', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=True),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.Column('requester', sa.String(length=18), nullable=False),
    sa.Column('provider', sa.String(length=18), nullable=False),
    sa.Column('operator', sa.String(length=42), nullable=True),
    sa.Column('dataset', sa.String(length=64), nullable=False),
    sa.Column('subject_hash', sa.String(length=64), nullable=False),
    sa.Column('purpose', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=200), nullable=True),
    sa.Column('legal_basis', sa.String(length=200), nullable=False),
    sa.Column('result_hash', sa.String(length=64), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.String(length=64), nullable=True),
    sa.Column('consent_id', sa.String(length=45), nullable=True),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('log_index')
    )
    op.create_index(op.f('ix_trust_exchange_records_requester'), 'trust_exchange_records', ['requester'], unique=False)
    op.create_index(op.f('ix_trust_exchange_records_subject_hash'), 'trust_exchange_records', ['subject_hash'], unique=False)
    op.create_index(op.f('ix_trust_exchange_records_time'), 'trust_exchange_records', ['time'], unique=False)
    op.create_table('trust_trace_events',
    sa.Column('event_id', sa.String(length=45), nullable=False),
    sa.Column('subject_kind', sa.String(length=32), nullable=False),
    sa.Column('subject_id', sa.String(length=64), nullable=False),
    sa.Column('event_type', sa.String(length=32), nullable=False),
    sa.Column('actor', sa.String(length=18), nullable=False),
    sa.Column('time', sa.BigInteger(), nullable=False),
    sa.Column('payload_hash', sa.String(length=64), nullable=False),
    sa.Column('prev_event_hash', sa.String(length=64), nullable=True),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('event_id'),
    sa.UniqueConstraint('log_index')
    )
    op.create_index(op.f('ix_trust_trace_events_actor'), 'trust_trace_events', ['actor'], unique=False)
    op.create_index('ix_trust_trace_events_subject', 'trust_trace_events', ['subject_kind', 'subject_id', 'seq'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_trust_trace_events_subject', table_name='trust_trace_events')
    op.drop_index(op.f('ix_trust_trace_events_actor'), table_name='trust_trace_events')
    op.drop_table('trust_trace_events')
    op.drop_index(op.f('ix_trust_exchange_records_time'), table_name='trust_exchange_records')
    op.drop_index(op.f('ix_trust_exchange_records_subject_hash'), table_name='trust_exchange_records')
    op.drop_index(op.f('ix_trust_exchange_records_requester'), table_name='trust_exchange_records')
    op.drop_table('trust_exchange_records')
    op.drop_table('trust_enterprise_keys')
    op.drop_index(op.f('ix_trust_credit_records_subject'), table_name='trust_credit_records')
    op.drop_table('trust_credit_records')
    op.drop_index(op.f('ix_trust_consents_grantor'), table_name='trust_consents')
    op.drop_index(op.f('ix_trust_consents_grantee'), table_name='trust_consents')
    op.drop_table('trust_consents')
    op.drop_table('trust_consent_changes')
    op.drop_table('trust_audit_reports')
