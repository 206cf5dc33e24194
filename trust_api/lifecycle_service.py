"""Suspend, reinstate, revoke and renew licenses: the lifecycle rule decides, this
module stores the new state, the event and the status bit in one transaction. The
status list publisher then signs the changed list and anchors its digest."""

from __future__ import annotations

import json
import uuid
from typing import Any

from sqlalchemy import Engine, insert, select, update

from license_registry.errors import Forbidden, NotFound
from license_registry.lifecycle import (
    Action,
    LicenseRecord,
    LicenseState,
    apply_action,
    calculate_state,
    renew_license,
)
from trust_api.db import write_transaction
from trust_api.issuance import IssuanceService, Issued, IssueRequest
from trust_api.status_store import set_status
from trust_api.tables import license_events, licenses

# Which status bits a stored state sets: (revocation, suspension)
STATUS_BITS = {
    LicenseState.ACTIVE: (False, False),
    LicenseState.SUSPENDED: (False, True),
    LicenseState.REVOKED: (True, False),
    LicenseState.SUPERSEDED: (True, False),  # a renewed license's old credential is withdrawn
}


def _record(row: Any) -> LicenseRecord:
    return LicenseRecord(row.id, LicenseState(row.state), int(row.valid_from),
                         int(row.valid_until), int(row.updated_at), row.superseded_by)


class LifecycleService:
    def __init__(self, engine: Engine, issuance: IssuanceService) -> None:
        self.engine = engine
        self.issuance = issuance

    def load(self, conn: Any, department: str, license_id: str, *, lock: bool = False) -> Any:
        query = select(licenses).where(licenses.c.id == license_id)
        if lock:
            query = query.with_for_update()
        row = conn.execute(query).first()
        # Another department's license is reported as absent, so ids cannot be probed.
        if row is None or row.department != department:
            raise NotFound(f"license {license_id} not found among {department}'s licenses")
        return row

    def describe(self, department: str, license_id: str, now: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = self.load(conn, department, license_id)
            events = conn.execute(select(license_events).where(
                license_events.c.license_id == license_id).order_by(license_events.c.id)).all()
        return {
            "id": row.id, "department": row.department, "licenseType": row.license_type,
            "licenseNumber": row.license_number, "version": row.version,
            "state": calculate_state(_record(row), now).value, "holderIdType": row.holder_id_type,
            "holder": row.holder_masked, "issuedAt": row.issued_at, "validFrom": row.valid_from,
            "validUntil": row.valid_until, "kid": bytes(row.kid).hex(),
            "statusList": row.status_list, "statusIndex": row.status_index,
            "logIndex": row.log_index, "supersedes": row.supersedes,
            "supersededBy": row.superseded_by, "cityCode": row.city_code,
            "credential": json.loads(row.credential),
            "events": [{"kind": e.kind, "actor": "0x" + bytes(e.actor).hex(), "reason": e.reason,
                        "at": e.at} for e in events],
        }

    def change(self, department: str, actor: bytes, license_id: str, action: Action,
               reason: str, now: int) -> dict[str, Any]:
        with write_transaction(self.engine) as conn:
            row = self.load(conn, department, license_id, lock=True)
            record, event = apply_action(_record(row), action, actor="0x" + actor.hex(),
                                         reason=reason, now=now)
            self._store(conn, row, record, event.kind.value, actor, event.reason, now)
        return {"id": license_id, "state": record.state.value, "event": event.kind.value,
                "at": now}

    def renew(self, department: str, actor: bytes, license_id: str, reason: str,
              valid_until: int, now: int) -> Issued:
        with write_transaction(self.engine) as conn:
            row = self.load(conn, department, license_id, lock=True)
            new_id = f"urn:uuid:{uuid.uuid4()}"
            renewal = renew_license(_record(row), new_credential_id=new_id,
                                    new_valid_until=valid_until, actor="0x" + actor.hex(),
                                    reason=reason, now=now)
            request = IssueRequest(
                license_type=row.license_type, license_number=row.license_number,
                holder_id_type=row.holder_id_type,
                holder_id=self.issuance.cipher.decrypt(bytes(row.holder_id_enc)),
                subject=json.loads(row.subject), valid_from=now, valid_until=valid_until,
                scope=row.scope)
            self._store(conn, row, renewal.old, renewal.events[0].kind.value, actor,
                        renewal.events[0].reason, now)
            issued = self.issuance.issue(department, actor, [request], now, supersedes=row.id,
                                         versions=[int(row.version) + 1], conn=conn)
            conn.execute(update(licenses).where(licenses.c.id == row.id)
                         .values(superseded_by=issued[0].id))
        return issued[0]

    @staticmethod
    def _store(conn: Any, row: Any, record: LicenseRecord, kind: str, actor: bytes,
               reason: str, now: int) -> None:
        if record.state not in STATUS_BITS:
            raise Forbidden(f"cannot store state {record.state}")
        conn.execute(update(licenses).where(licenses.c.id == row.id)
                     .values(state=record.state.value, updated_at=now))
        conn.execute(insert(license_events).values(license_id=row.id, kind=kind, actor=actor,
                                                   reason=reason, at=now))
        revoked, suspended = STATUS_BITS[record.state]
        before = STATUS_BITS.get(LicenseState(row.state), (False, False))
        if revoked != before[0]:
            set_status(conn, row.department, row.status_list, row.status_index, "revocation", revoked)
        if suspended != before[1]:
            set_status(conn, row.department, row.status_list, row.status_index, "suspension",
                       suspended)
