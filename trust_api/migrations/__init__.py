"""Alembic migrations of the trust API tables, runnable against any database URL.

The version table is ``trust_api_alembic_version`` so these migrations live beside
another application's Alembic history in the same database.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine

VERSION_TABLE = "trust_api_alembic_version"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).resolve().parent))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(target: str | Engine, revision: str = "head") -> None:
    """Bring the trust API tables at ``target`` (a URL or an Engine) to ``revision``."""
    if isinstance(target, str):
        command.upgrade(alembic_config(target), revision)
        return
    config = alembic_config()
    with target.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, revision)


def downgrade(target: Engine, revision: str = "base") -> None:
    config = alembic_config()
    with target.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
