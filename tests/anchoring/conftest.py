"""Shared fixtures: the RFC 9162 vectors read in place, and SQL engines.

The vectors live in the workspace's shared/ folder next to the repository and are
never copied in. SQL tests run on SQLite always, and on PostgreSQL when
CITYCHAIN_TEST_DATABASE_URL is set, each run in a schema of its own that is dropped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from anchoring.migrations import upgrade
from anchoring.store_sql import make_engine

VECTORS = Path(__file__).resolve().parents[3] / "shared" / "vectors" / "rfc9162"
PG_URL = os.environ.get("CITYCHAIN_TEST_DATABASE_URL")


@pytest.fixture(scope="session")
def vectors_dir() -> Path:
    if not VECTORS.is_dir():
        pytest.skip(f"RFC 9162 vectors not found at {VECTORS} (shared/ is not beside the repo)")
    return VECTORS


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A migrated database: a SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path / 'anchoring.db'}")
        upgrade(eng)
        yield eng
        eng.dispose()
        return
    if not PG_URL:
        pytest.skip("set CITYCHAIN_TEST_DATABASE_URL to run the SQL tests on PostgreSQL")
    schema = f"anchoring_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    eng = make_engine(PG_URL, connect_args={"options": f"-csearch_path={schema}"})
    try:
        upgrade(eng)
        yield eng
    finally:
        eng.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()
