"""Alembic migrations of the anchoring tables, runnable against any database URL.

The version table is ``anchoring_alembic_version`` so these migrations live beside
another application's Alembic history in the same database.
"""

from __future__ import annotations

from pathlib import Path

from anchoring.migrations.history import MigrationHistory

VERSION_TABLE = "anchoring_alembic_version"
HISTORY = MigrationHistory(Path(__file__).resolve().parent, VERSION_TABLE)
alembic_config = HISTORY.config
upgrade = HISTORY.upgrade
downgrade = HISTORY.downgrade
