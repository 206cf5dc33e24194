"""The database: one engine for the trust API and the anchoring logs, migrated at start.

SQLite runs in WAL mode: readers (verification) no longer wait for a writer's commit
(issuance, the workers) and a writer no longer waits for readers. ``synchronous`` stays
at its default, FULL: every commit is fsynced, so WAL loses nothing acknowledged on a
process kill (kill -9) nor on a power loss — the same guarantee as before.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, event

from anchoring.migrations import upgrade as upgrade_anchoring
from anchoring.store_sql import make_engine, write_transaction
from trust_api.migrations import upgrade as upgrade_trust_api

__all__ = ["open_database", "write_transaction"]


def open_database(url: str) -> Engine:
    """An engine at ``url`` with both Alembic histories at head."""
    sqlite = url.startswith("sqlite")
    # A ping per checkout guards against a PostgreSQL server that dropped the connection;
    # a SQLite file cannot drop it, and the ping cost one query per checkout.
    engine = make_engine(url, pool_pre_ping=not sqlite)
    if engine.dialect.name == "sqlite":
        _use_wal(engine)
    upgrade_anchoring(engine)
    upgrade_trust_api(engine)
    return engine


def _use_wal(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode = WAL")  # persistent; a no-op once set
        cursor.close()
