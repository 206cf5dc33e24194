"""DEV ONLY: make a department ready to issue on a dev chain, with the dev keys.

What a real consortium does by governance and by each department's admin (see the
deployment guide), done here in one go: the department's service account becomes an
operator of the department and may transact, the city administration accredits the
department for license types, and an issuing key is created and listed on chain.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

from license_registry.license_types import LICENSE_TYPES
from trust_api.db import write_transaction
from trust_api.platform import Platform

ROLE_DEPARTMENT = 2  # Permissioning role of a department account
KEY_LIFETIME = 5 * 365 * 86400


def onboard_service_account(platform: Platform, department: str, dept_admin_key: bytes,
                            city_admin_keys: list[bytes]) -> bytes:
    now = int(time.time())
    with write_transaction(platform.engine) as conn:
        account = platform.keystore.service_account(conn, department, now)
    snapshot = platform.trust.current()
    info = snapshot.departments.get(department)
    if info is None or account not in info.accounts:
        platform.chain.set_account_role(city_admin_keys[0], account, ROLE_DEPARTMENT)
        platform.chain.add_operator(dept_admin_key, account)
    return account


def accredit(platform: Platform, department: str, types: Iterable[str],
             city_admin_keys: list[bytes]) -> None:
    snapshot = platform.trust.current()
    for code in types:
        if (department, code) not in snapshot.accreditations:
            platform.chain.grant_accreditation(city_admin_keys, department, code)


def ensure_issuing_key(platform: Platform, department: str, timeout: float = 60.0) -> bytes:
    """A listed, valid issuing key of ``department`` (created if there is none)."""
    now = int(time.time())
    platform.trust.refresh(force=True)
    with platform.engine.connect() as conn:
        held = {k.kid for k in platform.keystore.keys_of(conn, department) if k.revoked_at is None}
    listed = [k for k in platform.trust.current().keys
              if k.department == department and k.kid in held and k.is_valid_at(now)]
    if listed:
        return listed[0].kid
    with write_transaction(platform.engine) as conn:
        key = platform.keystore.create_key(conn, department, now - 60, now + KEY_LIFETIME, now)
    platform.writer.run_once()
    platform.trust.refresh(force=True)
    platform.trust.wait_for(lambda s: s.key(department, key.kid) is not None, timeout)
    return key.kid


def bootstrap_department(platform: Platform, department: str, dept_admin_key: bytes,
                         city_admin_keys: list[bytes], types: Iterable[str] | None = None) -> bytes:
    platform.trust.refresh(force=True)
    onboard_service_account(platform, department, dept_admin_key, city_admin_keys)
    accredit(platform, department, types if types is not None else
             [t.code for t in LICENSE_TYPES], city_admin_keys)
    return ensure_issuing_key(platform, department)
