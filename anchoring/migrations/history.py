"""One Alembic history beside others in a database: its own version table, runnable
against a URL or an Engine. Shared by the anchoring and trust API migrations."""

from __future__ import annotations

from pathlib import Path

from alembic import command, context
from alembic.config import Config
from sqlalchemy import Engine, MetaData


class MigrationHistory:
    def __init__(self, script_dir: Path, version_table: str) -> None:
        self.script_dir = script_dir
        self.version_table = version_table

    def config(self, url: str | None = None) -> Config:
        config = Config()
        config.set_main_option("script_location", str(self.script_dir))
        if url is not None:
            config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
        return config

    def upgrade(self, target: str | Engine, revision: str = "head") -> None:
        """Bring the tables at ``target`` (a URL or an Engine) to ``revision``."""
        if isinstance(target, str):
            command.upgrade(self.config(target), revision)
            return
        config = self.config()
        with target.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, revision)

    def downgrade(self, target: Engine, revision: str = "base") -> None:
        config = self.config()
        with target.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, revision)


def run_environment(metadata: MetaData, version_table: str) -> None:
    """The body of an env.py: offline SQL, a given connection, or a URL."""
    from anchoring.store_sql import make_engine

    config = context.config
    if context.is_offline_mode():
        context.configure(url=config.get_main_option("sqlalchemy.url"),
                          target_metadata=metadata, literal_binds=True,
                          version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=metadata,
                          version_table=version_table)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database: pass a URL or an Engine to upgrade()")
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=metadata,
                              version_table=version_table)
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()
