"""Settings of the trust API, from the environment (``CITYCHAIN_*``, ``DATABASE_URL``).

Secrets have no defaults and weak ones are refused: a deployment must set them.
``dev_settings`` makes a dev configuration whose secrets are random and kept in the
dev folder (and whose platform operator is the dev chain's, known to everyone).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

CITY_REGISTRY = "0x0000000000000000000000000000000000001001"


def _secret_bytes(value: SecretStr, name: str, length: int | None = None) -> bytes:
    text = value.get_secret_value().strip().removeprefix("0x")
    try:
        raw = bytes.fromhex(text)
    except ValueError:
        raise ValueError(f"{name} must be hex") from None
    if length is not None and len(raw) != length:
        raise ValueError(f"{name} must be {length} bytes ({2 * length} hex digits), got {len(raw)}")
    if len(raw) < 32:
        raise ValueError(f"{name} must be at least 32 bytes")
    if len(set(raw)) < 8:
        raise ValueError(f"{name} looks like a placeholder (too few distinct bytes): set a random one")
    return raw


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CITYCHAIN_", extra="ignore", populate_by_name=True)

    database_url: str = Field(
        "sqlite:///trust.db", validation_alias=AliasChoices("DATABASE_URL", "CITYCHAIN_DATABASE_URL"))
    rpc_url: str = "http://127.0.0.1:8545"
    city_registry: str = CITY_REGISTRY
    public_base_url: str = "http://127.0.0.1:8080"
    log_host: str = "city.example"
    pii_key: SecretStr
    token_secret: SecretStr
    platform_key: SecretStr  # Ed25519 seed: signs trust bundles and log checkpoints
    operator_key: SecretStr  # secp256k1: the platform operator that anchors logs on chain
    dev_mode: bool = False
    refresh_interval: float = 0.5
    checkpoint_interval: float = 0.5
    publish_interval: float = 0.5
    token_ttl: int = 900
    max_clock_skew: int = 300
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch_items: int = 5000
    max_job_items: int = 200_000
    run_workers: bool = True
    # With several API processes on one port (``citychain api serve --processes N``) only
    # the first runs the background workers that write: the chain writer, the anchoring
    # worker (both send transactions from the platform's accounts), the checkpointer and
    # the status publisher, and it alone recovers interrupted license jobs at start.
    # Every process still runs the trust-snapshot refresher (``run_workers=False`` stops
    # that too, for tests that refresh by hand).
    background_workers: bool = True

    @field_validator("pii_key", "token_secret", "platform_key", "operator_key")
    @classmethod
    def _strong(cls, value: SecretStr, info: object) -> SecretStr:
        name = getattr(info, "field_name", "secret")
        _secret_bytes(value, name, 32)
        return value

    def secret(self, name: str) -> bytes:
        return _secret_bytes(getattr(self, name), name, 32)

    @property
    def base_url(self) -> str:
        return self.public_base_url.rstrip("/")


def dev_settings(folder: Path, **overrides: object) -> Settings:
    """Dev settings: random secrets kept in ``folder/api-secrets.json`` (DEV ONLY)."""
    from chain.devnet import DEV_ACCOUNTS

    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "api-secrets.json"
    if path.exists():
        stored = json.loads(path.read_text())
    else:
        stored = {name: secrets.token_hex(32) for name in ("pii_key", "token_secret", "platform_key")}
        path.write_text(json.dumps(stored, indent=2))
        os.chmod(path, 0o600)
    operator = next(a for a in DEV_ACCOUNTS if a.label == "service-module").private_key
    values: dict[str, object] = {
        "database_url": f"sqlite:///{folder / 'trust.db'}", "operator_key": operator.hex(),
        "dev_mode": True, **stored,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]
