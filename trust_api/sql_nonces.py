"""Replay protection in the database, so it holds across API processes and restarts."""

from __future__ import annotations

from sqlalchemy import Engine, delete, insert
from sqlalchemy.exc import IntegrityError

from trust_api.db import write_transaction
from trust_api.tables import nonces


class SqlNonceStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._inserts = 0

    def remember(self, account: bytes, nonce: str, expires_at: int) -> bool:
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(insert(nonces).values(account=account, nonce=nonce,
                                                   expires_at=expires_at))
        except IntegrityError:
            return False
        self._inserts += 1
        if self._inserts % 1000 == 0:
            self.prune(expires_at - 2 * 3600)
        return True

    def prune(self, before: int) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(delete(nonces).where(nonces.c.expires_at < before))
