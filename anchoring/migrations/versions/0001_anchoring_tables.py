"""Logs, leaves, stored nodes, witness heads and signed checkpoints.

Revision ID: 0001_anchoring_tables
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_anchoring_tables"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "anchoring_logs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("origin", sa.String(255), nullable=False, unique=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "anchoring_leaves",
        sa.Column("log_id", sa.Integer, sa.ForeignKey("anchoring_logs.id"), primary_key=True),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("leaf_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("entry", sa.LargeBinary, nullable=True),
    )
    op.create_table(
        "anchoring_nodes",
        sa.Column("log_id", sa.Integer, sa.ForeignKey("anchoring_logs.id"), primary_key=True),
        sa.Column("level", sa.SmallInteger, primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("hash", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "anchoring_witness_heads",
        sa.Column("origin", sa.String(255), primary_key=True),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("root", sa.LargeBinary(32), nullable=False),
    )
    op.create_table(
        "anchoring_signed_checkpoints",
        sa.Column("origin", sa.String(255), primary_key=True),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "anchoring_signed_checkpoints", "anchoring_witness_heads", "anchoring_nodes",
        "anchoring_leaves", "anchoring_logs",
    ):
        op.drop_table(table)
