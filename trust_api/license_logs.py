"""Each issuing department's credential log: an RFC 9162 log anchored on chain.

Issuance appends credential hashes inside its own transaction; ``checkpoint_all``
signs one checkpoint per grown log per interval, and the anchoring worker anchors
them, so every credential gets an inclusion proof against an anchored checkpoint.
"""

from __future__ import annotations

import threading

from nacl.signing import SigningKey
from sqlalchemy import Engine, select

from anchoring.anchored_log import AnchoredLog, chain_log_id
from anchoring.note import Ed25519Signer
from anchoring.store_sql import logs


class LicenseLogs:
    def __init__(self, engine: Engine, host: str, signer_seed: bytes) -> None:
        self.engine = engine
        self.host = host
        self._seed = signer_seed
        self._logs: dict[str, AnchoredLog] = {}
        self._lock = threading.Lock()

    def origin(self, department: str) -> str:
        return f"{self.host}/licenses/{department}"

    def signer(self, origin: str) -> Ed25519Signer:
        return Ed25519Signer(origin, SigningKey(self._seed))

    def of(self, department: str) -> AnchoredLog:
        with self._lock:
            log = self._logs.get(department)
            if log is None:
                origin = self.origin(department)
                log = AnchoredLog(self.engine, origin, self.signer(origin))
                self._logs[department] = log
            return log

    def origins(self) -> list[str]:
        prefix = f"{self.host}/licenses/"
        with self.engine.connect() as conn:
            rows = conn.execute(select(logs.c.origin).where(logs.c.origin.startswith(prefix)))
            return [str(r.origin) for r in rows]

    def log_ids(self) -> list[bytes]:
        return [chain_log_id(origin) for origin in self.origins()]

    def checkpoint_all(self) -> int:
        signed = 0
        for origin in self.origins():
            department = origin.rsplit("/", 1)[1]
            if self.of(department).checkpoint() is not None:
                signed += 1
        return signed
