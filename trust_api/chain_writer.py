"""The outbox worker for the trust API's chain writes: TrustList keys and status list
digests, sent by each department's service account.

Rows are sent in order per department. A status list publication superseded by a
newer pending version of the same list is skipped (only the latest digest matters).
A revert that means "already done" (kid already used, version must increase) closes
the row; any other revert keeps it pending with the chain's reason, so an operator
sees why (e.g. the service account is not yet an operator of its department).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any, Protocol

from sqlalchemy import Engine, select, update

from trust_api.chain_client import ChainRejected, ChainUnavailable
from trust_api.db import write_transaction
from trust_api.tables import chain_outbox

log = logging.getLogger("citychain.trust_api")

ALREADY_DONE = ("kid already used", "version must increase", "key already revoked")


class ChainWrites(Protocol):
    def add_key(self, sender_key: bytes, kid: bytes, public_key: bytes, valid_from: int,
                valid_until: int, *, wait: bool = True) -> bytes: ...

    def revoke_key(self, sender_key: bytes, kid: bytes, reason: int, revoked_at: int = 0, *,
                   wait: bool = True) -> bytes: ...

    def publish_status_list(self, sender_key: bytes, list_id: bytes, digest: bytes,
                            version: int, *, wait: bool = True) -> bytes: ...


class ChainWriter:
    def __init__(self, engine: Engine, chain: ChainWrites, sender_key: Any) -> None:
        self.engine = engine
        self.chain = chain
        self.sender_key = sender_key  # department -> private key
        self.refused = False  # the last pass had a write the chain refused

    def _finish(self, row_id: int, status: str, tx_hash: bytes | None, error: str | None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(chain_outbox).where(chain_outbox.c.id == row_id).values(
                status=status, tx_hash=tx_hash, last_error=error,
                attempts=chain_outbox.c.attempts + 1))

    def _send(self, row: Any) -> bytes:
        payload = json.loads(row.payload)
        key = self.sender_key(row.department)
        if row.kind == "add_key":
            return self.chain.add_key(key, bytes.fromhex(payload["kid"]),
                                      bytes.fromhex(payload["publicKey"]), payload["validFrom"],
                                      payload["validUntil"])
        if row.kind == "revoke_key":
            return self.chain.revoke_key(key, bytes.fromhex(payload["kid"]), payload["reason"],
                                         payload["revokedAt"])
        if row.kind == "publish_status_list":
            return self.chain.publish_status_list(key, bytes.fromhex(payload["listId"]),
                                                  bytes.fromhex(payload["digest"]),
                                                  payload["version"])
        raise ValueError(f"unknown chain write {row.kind!r}")

    def run_once(self, limit: int = 200) -> int:
        """Send pending rows; returns how many were closed. Raises ChainUnavailable."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(chain_outbox).where(chain_outbox.c.status == "pending")
                                .order_by(chain_outbox.c.id).limit(limit)).all()
        latest_version: dict[str, int] = {}
        for row in rows:
            if row.kind == "publish_status_list":
                payload = json.loads(row.payload)
                latest_version[payload["listId"]] = max(latest_version.get(payload["listId"], 0),
                                                        payload["version"])
        blocked: set[str] = set()
        closed = 0
        self.refused = False
        for row in rows:
            if row.department in blocked:
                continue
            if row.kind == "publish_status_list":
                payload = json.loads(row.payload)
                if payload["version"] < latest_version[payload["listId"]]:
                    self._finish(row.id, "superseded", None, None)
                    closed += 1
                    continue
            try:
                tx_hash = self._send(row)
            except ChainRejected as exc:
                reason = str(exc)
                if any(marker in reason for marker in ALREADY_DONE):
                    self._finish(row.id, "done", None, reason)
                    closed += 1
                    continue
                log.warning("chain write %s for %s refused: %s", row.kind, row.department, reason)
                with write_transaction(self.engine) as conn:
                    conn.execute(update(chain_outbox).where(chain_outbox.c.id == row.id).values(
                        last_error=reason[:1000], attempts=chain_outbox.c.attempts + 1))
                blocked.add(row.department)  # keep this department's writes in order
                self.refused = True
                continue
            self._finish(row.id, "done", tx_hash, None)
            closed += 1
        return closed

    def run(self, stop: threading.Event, poll: float) -> None:
        failures = 0
        while not stop.is_set():
            try:
                closed = self.run_once()
                failures = 0
            except ChainUnavailable as exc:
                failures += 1
                closed = 0
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("chain unavailable for trust writes: %s", exc)
            except Exception:  # a bug must not stop the worker silently
                log.exception("chain writer pass failed")
                closed = 0
                failures += 1
            if not closed:
                # Refused writes wait for a person (e.g. to make the service account an
                # operator): retry them slowly rather than simulate them every poll.
                idle = poll * 4 if self.refused else poll
                stop.wait(idle if failures == 0 else min(10.0, poll * 2 ** min(failures, 5)))
