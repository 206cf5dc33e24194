"""Alembic environment for the anchoring tables (see anchoring.migrations.upgrade)."""

from __future__ import annotations

from anchoring.migrations import VERSION_TABLE
from anchoring.migrations.history import run_environment
from anchoring.store_sql import metadata

run_environment(metadata, VERSION_TABLE)
