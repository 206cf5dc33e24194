"""The trust API tables: issuer keys, service accounts, licenses and their events,
status lists and publications, auth nonces, the chain outbox and batch jobs.

Revision ID: 0001_trust_api_tables
Revises:
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0001_trust_api_tables'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('trust_auth_nonces',
    sa.Column('account', sa.LargeBinary(length=20), nullable=False),
    sa.Column('nonce', sa.String(length=64), nullable=False),
    sa.Column('expires_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('account', 'nonce')
    )
    op.create_index(op.f('ix_trust_auth_nonces_expires_at'), 'trust_auth_nonces', ['expires_at'], unique=False)
    op.create_table('trust_chain_outbox',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('department', sa.String(length=18), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.String(length=1000), nullable=True),
    sa.Column('tx_hash', sa.LargeBinary(length=32), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_trust_chain_outbox_pending', 'trust_chain_outbox', ['status', 'id'], unique=False)
    op.create_table('trust_issuer_keys',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('department', sa.String(length=18), nullable=False),
    sa.Column('kid', sa.LargeBinary(length=8), nullable=False),
    sa.Column('public_key', sa.LargeBinary(length=32), nullable=False),
    sa.Column('secret_key_enc', sa.LargeBinary(), nullable=False),
    sa.Column('valid_from', sa.BigInteger(), nullable=False),
    sa.Column('valid_until', sa.BigInteger(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('revoked_at', sa.BigInteger(), nullable=True),
    sa.Column('revocation_reason', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department', 'kid', name='uq_trust_issuer_keys_department_kid')
    )
    op.create_table('trust_jobs',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('department', sa.String(length=18), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('done', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.Column('finished_at', sa.BigInteger(), nullable=True),
    sa.Column('created_by', sa.LargeBinary(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('trust_license_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('license_id', sa.String(length=45), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('actor', sa.LargeBinary(length=20), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index(op.f('ix_trust_license_events_license_id'), 'trust_license_events', ['license_id'], unique=False)
    op.create_table('trust_licenses',
    sa.Column('id', sa.String(length=45), nullable=False),
    sa.Column('department', sa.String(length=18), nullable=False),
    sa.Column('license_type', sa.String(length=16), nullable=False),
    sa.Column('license_number', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('holder_id_type', sa.String(length=16), nullable=False),
    sa.Column('holder_id_enc', sa.LargeBinary(), nullable=False),
    sa.Column('holder_hash', sa.String(length=64), nullable=False),
    sa.Column('holder_masked', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.Text(), nullable=False),
    sa.Column('scope', sa.String(length=500), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('updated_at', sa.BigInteger(), nullable=False),
    sa.Column('issued_at', sa.BigInteger(), nullable=False),
    sa.Column('valid_from', sa.BigInteger(), nullable=False),
    sa.Column('valid_until', sa.BigInteger(), nullable=False),
    sa.Column('kid', sa.LargeBinary(length=8), nullable=False),
    sa.Column('status_list', sa.Integer(), nullable=False),
    sa.Column('status_index', sa.Integer(), nullable=False),
    sa.Column('credential', sa.Text(), nullable=False),
    sa.Column('city_code', sa.Text(), nullable=False),
    sa.Column('credential_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('log_index', sa.BigInteger(), nullable=False),
    sa.Column('supersedes', sa.String(length=45), nullable=True),
    sa.Column('superseded_by', sa.String(length=45), nullable=True),
    sa.Column('issued_by', sa.LargeBinary(length=20), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department', 'license_type', 'license_number', 'version', name='uq_trust_licenses_number_version'),
    sa.UniqueConstraint('department', 'status_list', 'status_index', name='uq_trust_licenses_status')
    )
    op.create_index('ix_trust_licenses_holder', 'trust_licenses', ['holder_hash'], unique=False)
    op.create_table('trust_service_accounts',
    sa.Column('department', sa.String(length=18), nullable=False),
    sa.Column('address', sa.LargeBinary(length=20), nullable=False),
    sa.Column('private_key_enc', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('department'),
    sa.UniqueConstraint('address')
    )
    op.create_table('trust_status_lists',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('department', sa.String(length=18), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('allocated', sa.LargeBinary(), nullable=False),
    sa.Column('allocated_count', sa.Integer(), nullable=False),
    sa.Column('revocation', sa.LargeBinary(), nullable=False),
    sa.Column('suspension', sa.LargeBinary(), nullable=False),
    sa.Column('changed', sa.Boolean(), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department', 'number', name='uq_trust_status_lists_department_number')
    )
    op.create_table('trust_status_publications',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('department', sa.String(length=18), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('version', sa.BigInteger(), nullable=False),
    sa.Column('url', sa.String(length=255), nullable=False),
    sa.Column('list_id', sa.LargeBinary(length=32), nullable=False),
    sa.Column('digest', sa.LargeBinary(length=32), nullable=False),
    sa.Column('credential', sa.Text(), nullable=False),
    sa.Column('published_at', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('department', 'number', 'purpose', 'version', name='uq_trust_status_publications_version')
    )


def downgrade() -> None:
    op.drop_table('trust_status_publications')
    op.drop_table('trust_status_lists')
    op.drop_table('trust_service_accounts')
    op.drop_index('ix_trust_licenses_holder', table_name='trust_licenses')
    op.drop_table('trust_licenses')
    op.drop_index(op.f('ix_trust_license_events_license_id'), table_name='trust_license_events')
    op.drop_table('trust_license_events')
    op.drop_table('trust_jobs')
    op.drop_table('trust_issuer_keys')
    op.drop_index('ix_trust_chain_outbox_pending', table_name='trust_chain_outbox')
    op.drop_table('trust_chain_outbox')
    op.drop_index(op.f('ix_trust_auth_nonces_expires_at'), table_name='trust_auth_nonces')
    op.drop_table('trust_auth_nonces')
