"""The database: one engine for the trust API and the anchoring logs, migrated at start."""

from __future__ import annotations

from sqlalchemy import Engine

from anchoring.migrations import upgrade as upgrade_anchoring
from anchoring.store_sql import make_engine, write_transaction
from trust_api.migrations import upgrade as upgrade_trust_api

__all__ = ["open_database", "write_transaction"]


def open_database(url: str) -> Engine:
    """An engine at ``url`` with both Alembic histories at head."""
    engine = make_engine(url, pool_pre_ping=True)
    upgrade_anchoring(engine)
    upgrade_trust_api(engine)
    return engine
