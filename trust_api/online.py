"""Online verification: the verdict against the live chain snapshot, the live status
bits in the database, and the credential's inclusion proof against the checkpoint of
its issuer's log anchored on chain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine, func, select

from anchoring.anchored_log import chain_log_id
from license_registry.presented import PresentedLicense
from license_registry.trust import TrustSnapshot
from license_registry.verification import AnchorEvidence, Verdict, verify_presentation
from trust_api.license_logs import LicenseLogs
from trust_api.tables import licenses, status_lists


class DatabaseStatus:
    """Status bits read live: a revocation is visible to the next verification."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def status(self, issuer: str, list_number: int, index: int) -> Mapping[str, bool] | None:
        offset = index // 8 + 1  # SQL substr is 1-based; only the one byte is read
        with self.engine.connect() as conn:
            row = conn.execute(select(
                func.substr(status_lists.c.revocation, offset, 1).label("r"),
                func.substr(status_lists.c.suspension, offset, 1).label("s"),
            ).where(status_lists.c.department == issuer,
                    status_lists.c.number == list_number)).first()
        if row is None or not row.r:
            return None
        mask = 0x80 >> (index % 8)
        return {"revocation": bool(bytes(row.r)[0] & mask), "suspension": bool(bytes(row.s)[0] & mask)}


class LogAnchors:
    def __init__(self, engine: Engine, logs: LicenseLogs) -> None:
        self.engine = engine
        self.logs = logs

    def log_id(self, issuer: str) -> bytes:
        return chain_log_id(self.logs.origin(issuer))

    def evidence(self, presented: PresentedLicense, credential_hash: bytes | None,
                 anchored_size: int | None) -> AnchorEvidence | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(licenses.c.department, licenses.c.log_index,
                                      licenses.c.credential_hash)
                               .where(licenses.c.id == presented.credential_id)).first()
        if row is None or row.department != presented.issuer:
            return None
        logged = bytes(row.credential_hash)
        if credential_hash is not None and credential_hash != logged:
            return None  # a credential with this id exists, but not this one
        index = int(row.log_index)
        log = self.logs.of(presented.issuer)
        if anchored_size is None or index >= anchored_size:
            return AnchorEvidence(log.origin, self.log_id(presented.issuer), index,
                                  anchored_size or 0, (), logged)
        proof = tuple(log.inclusion_proof(index, anchored_size))
        return AnchorEvidence(log.origin, self.log_id(presented.issuer), index, anchored_size,
                              proof, logged)


def verify_online(presentation: str | Mapping[str, Any], snapshot: TrustSnapshot, now: int,
                  verifier: str | None, status: DatabaseStatus, anchors: LogAnchors) -> Verdict:
    return verify_presentation(presentation, snapshot, now, verifier=verifier, status=status,
                               anchors=anchors)
