"""Each issuing department's credential log: an RFC 9162 log anchored on chain.

Issuance appends credential hashes inside its own transaction; ``checkpoint_all``
signs one checkpoint per grown log per interval, and the anchoring worker anchors
them, so every credential gets an inclusion proof against an anchored checkpoint.

The department license logs read their stored Merkle nodes through one ``NodeCache``
(nodes never change once written), so online verification's inclusion proofs mostly
come from memory. The other platform logs (credit, exchanges, traces, consents) read
the database every time: the regulator's audit and reports must see edited rows.
"""

from __future__ import annotations

import threading

from nacl.signing import SigningKey
from sqlalchemy import Engine, select

from anchoring.anchored_log import AnchoredLog, chain_log_id
from anchoring.note import Ed25519Signer
from anchoring.store_sql import NodeCache, logs

NODE_CACHE_ENTRIES = 200_000  # ≈ 50 MB per process at most; a proof over 10⁵ leaves reads ≈ 17


class LicenseLogs:
    def __init__(self, engine: Engine, host: str, signer_seed: bytes) -> None:
        self.engine = engine
        self.host = host
        self._seed = signer_seed
        self._named: dict[str, AnchoredLog] = {}
        self._lock = threading.Lock()
        self.node_cache = NodeCache(NODE_CACHE_ENTRIES)

    def origin(self, department: str) -> str:
        return f"{self.host}/licenses/{department}"

    def signer(self, origin: str) -> Ed25519Signer:
        return Ed25519Signer(origin, SigningKey(self._seed))

    def of(self, department: str) -> AnchoredLog:
        return self._open(self.origin(department))

    def named(self, name: str) -> AnchoredLog:
        """A platform log other than a department's license log: credit, exchanges, ..."""
        return self._open(f"{self.host}/{name}")

    def _open(self, origin: str) -> AnchoredLog:
        with self._lock:
            log = self._named.get(origin)
            if log is None:
                cached = origin.startswith(f"{self.host}/licenses/")
                log = AnchoredLog(self.engine, origin, self.signer(origin),
                                  self.node_cache if cached else None)
                self._named[origin] = log
            return log

    def origins(self, prefix: str = "licenses/") -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(logs.c.origin)
                                .where(logs.c.origin.startswith(f"{self.host}/{prefix}")))
            return [str(r.origin) for r in rows]

    def log_ids(self) -> list[bytes]:
        """Every platform log, so the trust snapshot carries each one's latest anchor."""
        return [chain_log_id(origin) for origin in self.origins("")]

    def checkpoint_all(self) -> int:
        signed = 0
        for origin in self.origins(""):
            if self._open(origin).checkpoint() is not None:
                signed += 1
        return signed
