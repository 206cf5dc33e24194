"""Online verification: the verdict against the live chain snapshot, the live status
bits in the database, and the credential's inclusion proof against the checkpoint of
its issuer's log anchored on chain.

One verification reads the database through ONE connection (``verify_online`` opens it
on first use and closes it at the end): the status bits, the credential's row, and the
proof's stored nodes that the license logs' node cache does not hold yet. The
statements are built once, at import, so a request only binds its values.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, func, select

from anchoring.anchored_log import chain_log_id
from anchoring.tiles import assemble, plan_inclusion, plan_nodes
from license_registry.presented import PresentedLicense
from license_registry.trust import TrustSnapshot
from license_registry.verification import AnchorEvidence, Verdict, verify_presentation
from trust_api.license_logs import LicenseLogs
from trust_api.tables import licenses, status_lists

# SQL substr is 1-based; only the one byte holding the bit is read.
_STATUS_BYTES = select(
    func.substr(status_lists.c.revocation, bindparam("offset"), 1).label("r"),
    func.substr(status_lists.c.suspension, bindparam("offset"), 1).label("s"),
).where(status_lists.c.department == bindparam("department"),
        status_lists.c.number == bindparam("number"))
_LOGGED = select(licenses.c.department, licenses.c.log_index, licenses.c.credential_hash
                 ).where(licenses.c.id == bindparam("id"))


class _Reads:
    """The connection of one verification's reads, opened on first use (a code refused
    before any database check opens none)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._conn: Connection | None = None

    def connection(self) -> Connection:
        if self._conn is None:
            self._conn = self.engine.connect()
        return self._conn

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class DatabaseStatus:
    """Status bits read live: a revocation is visible to the next verification."""

    def __init__(self, engine: Engine, reads: _Reads | None = None) -> None:
        self.engine = engine
        self._reads = reads

    def status(self, issuer: str, list_number: int, index: int) -> Mapping[str, bool] | None:
        values = {"offset": index // 8 + 1, "department": issuer, "number": list_number}
        if self._reads is not None:
            row = self._reads.connection().execute(_STATUS_BYTES, values).first()
        else:
            with self.engine.connect() as conn:
                row = conn.execute(_STATUS_BYTES, values).first()
        if row is None or not row.r:
            return None
        mask = 0x80 >> (index % 8)
        return {"revocation": bool(bytes(row.r)[0] & mask), "suspension": bool(bytes(row.s)[0] & mask)}


class LogAnchors:
    def __init__(self, engine: Engine, logs: LicenseLogs, reads: _Reads | None = None) -> None:
        self.engine = engine
        self.logs = logs
        self._reads = reads

    def log_id(self, issuer: str) -> bytes:
        return chain_log_id(self.logs.origin(issuer))

    def evidence(self, presented: PresentedLicense, credential_hash: bytes | None,
                 anchored_size: int | None) -> AnchorEvidence | None:
        if self._reads is not None:
            return self._evidence(self._reads.connection(), presented, credential_hash,
                                  anchored_size)
        with self.engine.connect() as conn:
            return self._evidence(conn, presented, credential_hash, anchored_size)

    def _evidence(self, conn: Connection, presented: PresentedLicense,
                  credential_hash: bytes | None, anchored_size: int | None
                  ) -> AnchorEvidence | None:
        row = conn.execute(_LOGGED, {"id": presented.credential_id}).first()
        if row is None or row.department != presented.issuer:
            return None
        logged = bytes(row.credential_hash)
        if credential_hash is not None and credential_hash != logged:
            return None  # a credential with this id exists, but not this one
        index = int(row.log_index)
        log = self.logs.of(presented.issuer)
        log_id = self.log_id(presented.issuer)
        if anchored_size is None or index >= anchored_size:
            return AnchorEvidence(log.origin, log_id, index, anchored_size or 0, (), logged)
        # The anchored size comes from the chain, which the platform anchored from this
        # log, so it is not checked against the log's size first (a query): a size beyond
        # the stored log would leave a planned node missing, and assemble raises LogError.
        plan = plan_inclusion(index, anchored_size)
        proof = tuple(assemble(plan, log.store.get_nodes(plan_nodes(plan), conn)))
        return AnchorEvidence(log.origin, log_id, index, anchored_size, proof, logged)


@contextmanager
def _one_connection(status: DatabaseStatus, anchors: LogAnchors
                    ) -> Iterator[tuple[DatabaseStatus, LogAnchors]]:
    reads = _Reads(status.engine)
    try:
        yield DatabaseStatus(status.engine, reads), LogAnchors(anchors.engine, anchors.logs,
                                                                reads)
    finally:
        reads.close()


def verify_online(presentation: str | Mapping[str, Any], snapshot: TrustSnapshot, now: int,
                  verifier: str | None, status: DatabaseStatus, anchors: LogAnchors) -> Verdict:
    with _one_connection(status, anchors) as (one_status, one_anchors):
        return verify_presentation(presentation, snapshot, now, verifier=verifier,
                                   status=one_status, anchors=one_anchors)
