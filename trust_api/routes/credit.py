"""Credit records, enterprise keys, consents, bank queries, and an enterprise's access log."""

from __future__ import annotations

import time
from typing import Annotated, Any

from fastapi import APIRouter, Body

from license_registry.errors import Forbidden, InvalidInput
from license_registry.trust import ROLE_BANK, ROLE_REGULATOR
from trust_api.deps import CallerDep, PlatformDep
from trust_api.models import Strict

router = APIRouter(prefix="/v1", tags=["credit"])
Json = Annotated[dict[str, Any], Body()]


class EnterpriseKeyBody(Strict):
    publicKey: str


@router.post("/enterprises/{subject}/keys", status_code=201)
def register_key(subject: str, body: EnterpriseKeyBody, caller: CallerDep,
                 platform: PlatformDep) -> dict[str, Any]:
    """The department that issues business licenses registers an enterprise's key."""
    try:
        key = bytes.fromhex(body.publicKey)
    except ValueError:
        raise InvalidInput("publicKey must be hex", field="publicKey") from None
    return platform.credit.register_enterprise_key(caller.usci, subject, key, int(time.time()))


@router.post("/credit-records", status_code=201)
def submit_record(body: Json, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A record from a department registered on chain for its type (TrustList)."""
    return platform.credit.submit_record(caller.usci, caller.address, body, int(time.time()))


@router.post("/credit-records/{record_id}/supersede", status_code=201)
def supersede_record(record_id: str, body: Json, caller: CallerDep,
                     platform: PlatformDep) -> dict[str, Any]:
    """A correction or a successful appeal: a new record supersedes the old one."""
    return platform.credit.supersede_record(caller.usci, caller.address, record_id, body,
                                            int(time.time()))


@router.get("/enterprises/{subject}/credit-records")
def records_of(subject: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """The full history (superseded records included), for regulators and source departments."""
    records = platform.credit.records_of(subject)
    if not caller.department.has_roles(ROLE_REGULATOR):
        records = [r for r in records if r["sourceDepartment"] == caller.usci]
    return {"subject": subject, "records": records}


@router.post("/consents", status_code=201)
def register_consent(body: Json, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A consent signed by the enterprise (its registered key); its digest is anchored."""
    return platform.credit.register_consent(body, int(time.time()))


@router.get("/consents/{consent_id}")
def get_consent(consent_id: str, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    consent = platform.credit.describe_consent(consent_id, int(time.time()))
    if caller.usci != consent["grantee"] and not caller.department.has_roles(ROLE_REGULATOR):
        raise Forbidden("only the grantee bank and regulators read a consent")
    return consent


@router.post("/consents/{consent_id}/changes")
def change_consent(consent_id: str, body: Json, platform: PlatformDep) -> dict[str, Any]:
    """Pause, resume or revoke: the change is signed by the enterprise, which is its
    authentication (no department account needed); stale and replayed changes are refused."""
    return platform.credit.change_consent(consent_id, body, int(time.time()))


@router.post("/credit-queries", status_code=201)
def query(body: Json, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A bank presents a consent and receives a short-lived signed attestation; a refusal
    is a 403 naming the reason. Either way an access record is written."""
    caller.require(ROLE_BANK, "a credit query")
    return platform.credit.query(caller.usci, caller.address, body, int(time.time()))


@router.post("/enterprises/{subject}/access-log")
def access_log(subject: str, body: Json, platform: PlatformDep) -> dict[str, Any]:
    """Every query about the enterprise, refused ones included; the request is signed by
    the enterprise's registered key (a consent-change style document with action "list")."""
    platform.credit.authenticate_enterprise(subject, body, int(time.time()))
    return {"subject": subject, "queries": platform.credit.access_log(subject)}
