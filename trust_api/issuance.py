"""Issuing e-licenses: validate, sign the credential and the city code, allocate status
entries, store, and append each credential's hash to the department's log — all of a
request in ONE transaction, so a batch is all-or-nothing and nothing is half-written.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, insert, select

from license_registry.city_code import encode_city_code
from license_registry.data_integrity import create_proof
from license_registry.errors import Conflict, Forbidden, InvalidInput, LicenseError
from license_registry.identifiers import mask_identifier, parse_holder_id_type, salted_hash
from license_registry.jcs import canonicalize
from license_registry.license_types import LicenseMetadata, get_license_type, validate_subject
from license_registry.pii import PiiCipher
from license_registry.presented import build_city_code_claims, build_credential, datetime_text
from license_registry.status_list import status_entry
from license_registry.trust import ROLE_ISSUER
from trust_api.db import write_transaction
from trust_api.keystore import KeyStore
from trust_api.license_logs import LicenseLogs
from trust_api.status_store import allocate, list_url
from trust_api.tables import license_events, licenses
from trust_api.trust_state import TrustState


@dataclass(frozen=True)
class IssueRequest:
    license_type: str
    license_number: str
    holder_id_type: str
    holder_id: str
    subject: dict[str, Any]
    valid_from: int
    valid_until: int
    scope: str = ""


@dataclass
class Issued:
    id: str
    license_type: str
    license_number: str
    version: int
    credential: dict[str, Any]
    city_code: str
    status_list: int
    status_index: int
    log_index: int
    state: str = "ACTIVE"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self, *, with_credential: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "licenseType": self.license_type, "licenseNumber": self.license_number,
            "version": self.version, "state": self.state, "cityCode": self.city_code,
            "statusList": self.status_list, "statusIndex": self.status_index,
            "logIndex": self.log_index}
        if with_credential:
            out["credential"] = self.credential
        return out


class IssuanceService:
    def __init__(self, engine: Engine, trust: TrustState, keystore: KeyStore, logs: LicenseLogs,
                 cipher: PiiCipher, holder_salt: bytes, base_url: str,
                 rng: random.Random | None = None) -> None:
        self.engine = engine
        self.trust = trust
        self.keystore = keystore
        self.logs = logs
        self.cipher = cipher
        self.holder_salt = holder_salt
        self.base_url = base_url
        self.rng = rng or random.SystemRandom()

    def authorize_issuer(self, department: str, license_types: set[str]) -> None:
        snapshot = self.trust.current()
        info = snapshot.departments.get(department)
        if info is None or not info.has_roles(ROLE_ISSUER):
            raise Forbidden(f"department {department} is not an active issuing department on chain")
        for code in sorted(license_types):
            if not snapshot.is_accredited(department, code):
                raise Forbidden(
                    f"department {department} is not accredited on chain to issue {code}: the "
                    "city administration grants accreditations (TrustList.grantAccreditation)",
                    code="not_accredited")

    def issue(self, department: str, actor: bytes, requests: Sequence[IssueRequest], now: int,
              *, supersedes: str | None = None, versions: Sequence[int] | None = None,
              conn: Any = None) -> list[Issued]:
        """Issue every request or none. Errors name the item and field at fault."""
        if not requests:
            raise InvalidInput("no licenses to issue", field="items")
        self.authorize_issuer(department, {r.license_type for r in requests})
        name = self.trust.current().departments[department].name or department
        validated = [self._validate(i, r, len(requests) > 1, department, name)
                     for i, r in enumerate(requests)]
        numbers = [(r.license_type, r.license_number) for r in requests]
        if len(set(numbers)) != len(numbers):
            raise Conflict("the same license type and number appear twice in this request",
                           field="items", code="duplicate_license")
        kid, seed = self.keystore.signing_key(department, self.trust.current(), now)
        log = self.logs.of(department)
        if conn is not None:
            return self._issue_in(conn, department, actor, validated, kid, seed, log, now,
                                  supersedes, versions)
        with write_transaction(self.engine) as c:
            return self._issue_in(c, department, actor, validated, kid, seed, log, now,
                                  supersedes, versions)

    def _validate(self, index: int, request: IssueRequest, batch: bool, department: str,
                  department_name: str) -> tuple[IssueRequest, dict[str, Any], LicenseMetadata]:
        prefix = f"items[{index}]." if batch else ""
        try:
            license_type = get_license_type(request.license_type)
            subject = validate_subject(license_type, request.subject)
            metadata = LicenseMetadata(
                license_number=request.license_number, license_type=license_type.code,
                issuer_usci=department, issuer_name=department_name,
                holder_id_type=parse_holder_id_type(request.holder_id_type),
                holder_id=request.holder_id, valid_from=request.valid_from,
                valid_until=request.valid_until, scope=request.scope)
        except LicenseError as exc:
            exc.field = prefix + (exc.field or "")
            raise
        return request, subject, metadata

    def _issue_in(self, conn: Any, department: str, actor: bytes,
                  validated: list[tuple[IssueRequest, dict[str, Any], LicenseMetadata]], kid: bytes,
                  seed: bytes, log: Any, now: int, supersedes: str | None,
                  versions: Sequence[int] | None) -> list[Issued]:
        if versions is None:
            wanted = {r.license_number for r, _s, _h in validated}
            taken = conn.execute(select(licenses.c.license_type, licenses.c.license_number).where(
                licenses.c.department == department, licenses.c.license_number.in_(wanted))).all()
            taken_pairs = {(t.license_type, t.license_number) for t in taken}
            for i, (r, _s, _h) in enumerate(validated):
                if (r.license_type, r.license_number) in taken_pairs:
                    raise Conflict(
                        f"license {r.license_type} {r.license_number} was already issued by "
                        f"{department}: renew it instead", field=f"items[{i}].licenseNumber",
                        code="duplicate_license")
        entries = allocate(conn, department, len(validated), self.rng)
        method = f"did:citychain:{department}#{kid.hex()}"
        issued: list[Issued] = []
        rows: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for i, ((request, subject, metadata), (number, index)) in enumerate(
                zip(validated, entries, strict=True)):
            credential_id = f"urn:uuid:{uuid.uuid4()}"
            license_type = get_license_type(request.license_type)
            holder_id = metadata.holder_id
            holder_hash = salted_hash(holder_id, self.holder_salt)
            masked = mask_identifier(metadata.holder_id_type, holder_id)
            status_entries = [status_entry(list_url(self.base_url, department, number, purpose),
                                           purpose, index)
                              for purpose in ("revocation", "suspension")]
            unsigned = build_credential(
                credential_id=credential_id, metadata=metadata, license_type=license_type,
                subject=subject, holder_salted_hash=holder_hash, issued_at=now,
                status_entries=status_entries)
            credential = create_proof(unsigned, seed, method, datetime_text(now))
            claims = build_city_code_claims(
                credential_id=credential_id, metadata=metadata, license_type=license_type,
                subject=subject, issued_at=now, status_list_number=number, status_index=index)
            code = encode_city_code(claims, kid, seed)
            text = canonicalize(credential)
            digest = hashlib.sha256(text).digest()
            version = 1 if versions is None else versions[i]
            rows.append({
                "id": credential_id, "department": department, "license_type": license_type.code,
                "license_number": request.license_number, "version": version,
                "holder_id_type": metadata.holder_id_type.value,
                "holder_id_enc": self.cipher.encrypt(holder_id), "holder_hash": holder_hash,
                "holder_masked": masked, "subject": json.dumps(subject, ensure_ascii=False),
                "scope": request.scope, "state": "ACTIVE", "updated_at": now, "issued_at": now,
                "valid_from": request.valid_from, "valid_until": request.valid_until, "kid": kid,
                "status_list": number, "status_index": index, "credential": text.decode(),
                "city_code": code, "credential_hash": digest, "log_index": -1,
                "supersedes": supersedes, "superseded_by": None, "issued_by": actor})
            events.append({"license_id": credential_id, "kind": "issued", "actor": actor,
                           "reason": None if supersedes is None else f"renews {supersedes}",
                           "at": now})
            issued.append(Issued(credential_id, license_type.code, request.license_number,
                                 version, credential, code, number, index, -1))
        first = log.append_in(conn, [row["credential_hash"] for row in rows])
        for offset, (row, item) in enumerate(zip(rows, issued, strict=True)):
            row["log_index"] = first + offset
            item.log_index = first + offset
        conn.execute(insert(licenses), rows)
        conn.execute(insert(license_events), events)
        return issued

