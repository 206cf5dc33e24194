"""A department's issuing keys and its chain service account."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from license_registry.errors import InvalidInput
from license_registry.trust import ROLE_ISSUER
from trust_api.db import write_transaction
from trust_api.deps import CallerDep, PlatformDep
from trust_api.models import KeyBody, RevokeKeyBody
from trust_api.tables import chain_outbox

router = APIRouter(prefix="/v1", tags=["keys"])


def _kid(text: str) -> bytes:
    try:
        kid = bytes.fromhex(text)
    except ValueError:
        kid = b""
    if len(kid) != 8:
        raise InvalidInput("kid must be 16 hex digits", field="kid")
    return kid


@router.post("/issuer-keys", status_code=201)
def create_key(body: KeyBody, caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """A new Ed25519 issuing key; listed on chain (TrustList) by the service account."""
    caller.require(ROLE_ISSUER, "creating an issuing key")
    now = int(time.time())
    with write_transaction(platform.engine) as conn:
        key = platform.keystore.create_key(conn, caller.usci, body.validFrom or now,
                                           body.validUntil, now)
        account = platform.keystore.service_account(conn, caller.usci, now)
    out = key.to_json(platform.trust.current())
    out["serviceAccount"] = "0x" + account.hex()
    return out


@router.get("/issuer-keys")
def list_keys(caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    snapshot = platform.trust.current()
    with platform.engine.connect() as conn:
        keys = platform.keystore.keys_of(conn, caller.usci)
    return {"keys": [k.to_json(snapshot) for k in keys]}


@router.post("/issuer-keys/{kid}/revoke")
def revoke_key(kid: str, body: RevokeKeyBody, caller: CallerDep,
               platform: PlatformDep) -> dict[str, Any]:
    """Revoke a key; for a compromise, from the stated compromise time (credentials signed
    after it stop verifying, earlier ones do not)."""
    caller.require(ROLE_ISSUER, "revoking an issuing key")
    now = int(time.time())
    revoked_at = now if body.compromisedAt is None else body.compromisedAt
    if body.compromisedAt is not None and body.reason != "keyCompromise":
        raise InvalidInput("compromisedAt is only for reason keyCompromise", field="compromisedAt")
    with write_transaction(platform.engine) as conn:
        key = platform.keystore.revoke_key(conn, caller.usci, _kid(kid), body.reason,
                                           revoked_at, now)
    platform.keystore.forget(caller.usci, key.kid)
    return key.to_json(platform.trust.current())


@router.get("/service-account")
def service_account(caller: CallerDep, platform: PlatformDep) -> dict[str, Any]:
    """The account the platform uses for this department's chain writes, and its backlog."""
    now = int(time.time())
    with write_transaction(platform.engine) as conn:
        account = platform.keystore.service_account(conn, caller.usci, now)
        pending = conn.execute(select(chain_outbox.c.kind, chain_outbox.c.last_error).where(
            chain_outbox.c.department == caller.usci, chain_outbox.c.status == "pending")).all()
    registered = account in caller.department.accounts
    return {"address": "0x" + account.hex(), "isDepartmentAccount": registered,
            "pendingWrites": [{"kind": p.kind, "lastError": p.last_error} for p in pending],
            "todo": None if registered else (
                "the department admin must call DepartmentRegistry.addOperator(address) and the "
                "city administration must permit the account (Permissioning)")}
