"""The anchoring outbox: signed checkpoints waiting to be anchored on chain.

Revision ID: 0002_anchoring_outbox
Revises: 0001_anchoring_tables
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_anchoring_outbox"
down_revision = "0001_anchoring_tables"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anchoring_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(255), nullable=False),
        sa.Column("log_id", sa.LargeBinary(32), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
        sa.Column("key_id", sa.LargeBinary(8), nullable=False),
        sa.Column("checkpoint", sa.LargeBinary, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=True),
        sa.Column("tx_hash", sa.LargeBinary(32), nullable=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(1000), nullable=True),
        sa.UniqueConstraint("origin", "size", name="uq_anchoring_outbox_origin_size"),
    )
    op.create_index("ix_anchoring_outbox_pending", "anchoring_outbox", ["status", "log_id", "size"])


def downgrade() -> None:
    op.drop_index("ix_anchoring_outbox_pending", table_name="anchoring_outbox")
    op.drop_table("anchoring_outbox")
