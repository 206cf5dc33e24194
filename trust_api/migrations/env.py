"""Alembic environment for the trust API tables (see trust_api.migrations.upgrade)."""

from __future__ import annotations

import trust_api.tables_audit  # noqa: F401  (registers the credit and audit tables)
from anchoring.migrations.history import run_environment
from trust_api.migrations import VERSION_TABLE
from trust_api.tables import metadata

run_environment(metadata, VERSION_TABLE)
