"""Alembic environment for the trust API tables (see trust_api.migrations.upgrade)."""

from __future__ import annotations

from alembic import context

import trust_api.tables_audit  # noqa: F401  (registers the credit and audit tables)
from anchoring.store_sql import make_engine
from trust_api.migrations import VERSION_TABLE
from trust_api.tables import metadata

config = context.config


def run_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"), target_metadata=metadata,
        literal_binds=True, version_table=VERSION_TABLE,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a URL or an Engine to trust_api.migrations.upgrade")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=metadata, version_table=VERSION_TABLE)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
