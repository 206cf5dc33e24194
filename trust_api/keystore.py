"""Departments' Ed25519 issuing keys and their chain service accounts, encrypted at rest.

A key is created here and listed on chain (TrustList.addKey) through the outbox by
the department's service account — an account the department's admin made an
operator of the department. A key signs only once the chain lists it: issuance
reads the trust snapshot, never this table alone.
"""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import dataclass

from eth_account import Account
from sqlalchemy import Connection, Engine, insert, select, update

from license_registry.errors import Conflict, InvalidInput, NotFound
from license_registry.keys import calculate_kid, generate_signing_key, public_key_of
from license_registry.pii import PiiCipher
from license_registry.trust import TrustSnapshot
from trust_api.tables import chain_outbox, issuer_keys, service_accounts

MAX_KEY_LIFETIME = 20 * 365 * 86400
REVOCATION_REASONS = {"unspecified": 0, "keyCompromise": 1, "superseded": 4,
                      "cessationOfOperation": 5}


@dataclass(frozen=True)
class IssuerKey:
    department: str
    kid: bytes
    public_key: bytes
    valid_from: int
    valid_until: int
    revoked_at: int | None

    def to_json(self, snapshot: TrustSnapshot | None = None) -> dict[str, object]:
        listed = snapshot is not None and snapshot.key(self.department, self.kid) is not None
        return {"kid": self.kid.hex(), "department": self.department,
                "publicKey": self.public_key.hex(), "validFrom": self.valid_from,
                "validUntil": self.valid_until, "revokedAt": self.revoked_at,
                "onChain": "listed" if listed else "pending"}


def enqueue_chain_write(conn: Connection, kind: str, department: str,
                        payload: dict[str, object], now: int) -> None:
    conn.execute(insert(chain_outbox).values(
        kind=kind, department=department, payload=json.dumps(payload, sort_keys=True),
        status="pending", attempts=0, created_at=now))


class KeyStore:
    def __init__(self, engine: Engine, cipher: PiiCipher) -> None:
        self.engine = engine
        self.cipher = cipher
        self._seeds: dict[tuple[str, bytes], bytes] = {}
        self._lock = threading.Lock()

    # ---- service accounts ----

    def service_account(self, conn: Connection, department: str, now: int) -> bytes:
        """The department's service account address, created on first use."""
        row = conn.execute(select(service_accounts.c.address)
                           .where(service_accounts.c.department == department)).first()
        if row is not None:
            return bytes(row.address)
        private_key = secrets.token_bytes(32)
        address = bytes.fromhex(Account.from_key(private_key).address[2:])
        conn.execute(insert(service_accounts).values(
            department=department, address=address,
            private_key_enc=self.cipher.encrypt(private_key.hex()), created_at=now))
        return address

    def service_account_key(self, department: str) -> bytes:
        with self.engine.connect() as conn:
            row = conn.execute(select(service_accounts.c.private_key_enc)
                               .where(service_accounts.c.department == department)).first()
        if row is None:
            raise NotFound(f"department {department} has no service account yet")
        return bytes.fromhex(self.cipher.decrypt(bytes(row.private_key_enc)))

    # ---- issuer keys ----

    def create_key(self, conn: Connection, department: str, valid_from: int, valid_until: int,
                   now: int) -> IssuerKey:
        if valid_until <= valid_from:
            raise InvalidInput("validUntil must be after validFrom", field="validUntil")
        if valid_until - valid_from > MAX_KEY_LIFETIME:
            raise InvalidInput("a key may be valid for at most 20 years", field="validUntil")
        if valid_until <= now:
            raise InvalidInput("validUntil is in the past", field="validUntil")
        seed = generate_signing_key()
        public_key = public_key_of(seed)
        kid = calculate_kid(public_key)
        self.service_account(conn, department, now)
        conn.execute(insert(issuer_keys).values(
            department=department, kid=kid, public_key=public_key,
            secret_key_enc=self.cipher.encrypt(seed.hex()), valid_from=valid_from,
            valid_until=valid_until, created_at=now))
        enqueue_chain_write(conn, "add_key", department, {
            "kid": kid.hex(), "publicKey": public_key.hex(), "validFrom": valid_from,
            "validUntil": valid_until}, now)
        return IssuerKey(department, kid, public_key, valid_from, valid_until, None)

    def revoke_key(self, conn: Connection, department: str, kid: bytes, reason: str,
                   revoked_at: int, now: int) -> IssuerKey:
        if reason not in REVOCATION_REASONS:
            raise InvalidInput(f"reason must be one of {sorted(REVOCATION_REASONS)}", field="reason")
        if revoked_at > now:
            raise InvalidInput("a key cannot be revoked in the future", field="compromisedAt")
        key = self._row(conn, department, kid)
        if key.revoked_at is not None:
            raise Conflict(f"key {kid.hex()} is already revoked")
        if revoked_at < key.valid_from:
            raise InvalidInput("the revocation time is before the key's validity",
                               field="compromisedAt")
        conn.execute(update(issuer_keys).where(issuer_keys.c.department == department,
                                               issuer_keys.c.kid == kid)
                     .values(revoked_at=revoked_at, revocation_reason=REVOCATION_REASONS[reason]))
        enqueue_chain_write(conn, "revoke_key", department, {
            "kid": kid.hex(), "reason": REVOCATION_REASONS[reason], "revokedAt": revoked_at}, now)
        return IssuerKey(department, kid, key.public_key, key.valid_from, key.valid_until,
                         revoked_at)

    def keys_of(self, conn: Connection, department: str) -> list[IssuerKey]:
        rows = conn.execute(select(issuer_keys).where(issuer_keys.c.department == department)
                            .order_by(issuer_keys.c.id))
        return [self._key(r) for r in rows]

    def _row(self, conn: Connection, department: str, kid: bytes) -> IssuerKey:
        row = conn.execute(select(issuer_keys).where(issuer_keys.c.department == department,
                                                     issuer_keys.c.kid == kid)).first()
        if row is None:
            raise NotFound(f"department {department} has no key {kid.hex()}")
        return self._key(row)

    @staticmethod
    def _key(row: object) -> IssuerKey:
        r = row  # a Row
        return IssuerKey(r.department, bytes(r.kid), bytes(r.public_key),  # type: ignore[attr-defined]
                         int(r.valid_from), int(r.valid_until),  # type: ignore[attr-defined]
                         None if r.revoked_at is None else int(r.revoked_at))  # type: ignore[attr-defined]

    def signing_key(self, department: str, snapshot: TrustSnapshot, now: int) -> tuple[bytes, bytes]:
        """(kid, seed) of the newest key the chain lists as valid now and we hold."""
        listed = sorted((k for k in snapshot.keys if k.department == department
                         and k.is_valid_at(now)), key=lambda k: k.valid_from, reverse=True)
        for key in listed:
            seed = self._seed(department, key.kid)
            if seed is not None:
                return key.kid, seed
        raise Conflict(
            f"department {department} has no issuing key listed on chain and valid now: create "
            "one (POST /v1/issuer-keys) and wait for it to be listed (one block)",
            code="no_signing_key")

    def _seed(self, department: str, kid: bytes) -> bytes | None:
        with self._lock:
            seed = self._seeds.get((department, kid))
        if seed is not None:
            return seed
        with self.engine.connect() as conn:
            row = conn.execute(select(issuer_keys.c.secret_key_enc, issuer_keys.c.revoked_at)
                               .where(issuer_keys.c.department == department,
                                      issuer_keys.c.kid == kid)).first()
        if row is None or row.revoked_at is not None:
            return None
        seed = bytes.fromhex(self.cipher.decrypt(bytes(row.secret_key_enc)))
        with self._lock:
            self._seeds[(department, kid)] = seed
        return seed

    def forget(self, department: str, kid: bytes) -> None:
        with self._lock:
            self._seeds.pop((department, kid), None)
