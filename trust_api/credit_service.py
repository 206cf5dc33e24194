"""The credit ledger service: records from registered departments, enterprise keys,
signed consents and their changes, and consented bank queries answered with an
attestation. Every query, allowed or refused, is written to the data-exchange log in
the same transaction as its effect; a refusal is committed before it is reported."""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, insert, select, update

from anchoring.anchored_log import chain_log_id
from anchoring.store_sql import outbox
from credit_ledger.attestation import build_attestation
from credit_ledger.consent import (
    ConsentState,
    apply_consent_action,
    calculate_consent_state,
    consent_digest,
    evaluate_query,
    parse_consent,
    verify_consent_signature,
)
from credit_ledger.consent_changes import parse_consent_change, verify_consent_change
from credit_ledger.record_types import get_record_type
from credit_ledger.records import (
    CreditRecord,
    build_record,
    build_superseding_record,
    record_entry,
)
from license_registry.data_integrity import verify_proof
from license_registry.errors import Conflict, Forbidden, InvalidInput, NotFound
from license_registry.identifiers import validate_usci
from license_registry.jcs import canonicalize
from license_registry.keys import calculate_kid, public_key_of
from license_registry.trust import ROLE_BANK, TrustSnapshot
from trust_api.db import write_transaction
from trust_api.exchange_log import ExchangeLog, subject_hash
from trust_api.license_logs import LicenseLogs
from trust_api.tables_audit import consent_changes, consents, credit_records, enterprise_keys
from trust_api.trust_state import TrustState

CREDIT_LOG = "credit"
CONSENT_LOG = "consents"
KEY_REGISTRAR_TYPE = "CN-BL"  # who issues business licenses vouches for enterprise keys
ATTESTATION_TTL = 24 * 3600
PROOF_CACHE_SIZE = 4096  # inclusion proofs kept (a few hundred bytes each)


def _record(row: Any) -> CreditRecord:
    return CreditRecord(row.id, row.subject, row.record_type, row.source_department,
                        row.effective_date, json.loads(row.content), int(row.recorded_at),
                        row.supersedes, row.supersede_reason, row.supersede_kind)


class CreditQueryRefused(Forbidden):
    """A refused bank query: its access record is already committed."""


class CreditService:
    def __init__(self, engine: Engine, trust: TrustState, logs: LicenseLogs,
                 exchanges: ExchangeLog, platform_seed: bytes, nonces: Any) -> None:
        self.engine = engine
        self.trust = trust
        self.logs = logs
        self.exchanges = exchanges
        self.platform_seed = platform_seed
        self.nonces = nonces
        self.platform_kid = calculate_kid(public_key_of(platform_seed))
        # A tree of a given size never changes (the log only grows): a record's inclusion
        # proof against the anchored size is read once and reused by every query until
        # the next anchor. build_attestation still checks every proof against the note.
        self._proofs: dict[tuple[str, int, int], list[bytes]] = {}

    # ---- enterprise keys ----

    def register_enterprise_key(self, department: str, subject: str, public_key: bytes,
                                now: int) -> dict[str, Any]:
        if not self.trust.current().is_accredited(department, KEY_REGISTRAR_TYPE):
            raise Forbidden(f"only a department accredited for {KEY_REGISTRAR_TYPE} (business "
                            "licenses) registers enterprise keys", code="not_key_registrar")
        subject = validate_usci(subject, "subject")
        if len(public_key) != 32:
            raise InvalidInput("publicKey must be a 32-byte Ed25519 key (64 hex digits)",
                               field="publicKey")
        kid = calculate_kid(public_key)
        with write_transaction(self.engine) as conn:
            exists = conn.execute(select(enterprise_keys.c.id).where(
                enterprise_keys.c.subject == subject, enterprise_keys.c.kid == kid)).first()
            if exists is not None:
                raise Conflict(f"key {kid.hex()} is already registered for {subject}")
            conn.execute(insert(enterprise_keys).values(
                subject=subject, kid=kid, public_key=public_key, registered_by=department,
                registered_at=now))
        return {"subject": subject, "kid": kid.hex(), "registeredBy": department,
                "verificationMethod": f"did:citychain:{subject}#{kid.hex()}"}

    def _enterprise_key(self, conn: Any, subject: str, method: str | None) -> bytes:
        kid_hex = (method or "").rsplit("#", 1)[-1]
        try:
            kid = bytes.fromhex(kid_hex) if len(kid_hex) == 16 else b""
        except ValueError:
            kid = b""
        row = conn.execute(select(enterprise_keys).where(
            enterprise_keys.c.subject == subject, enterprise_keys.c.kid == kid,
            enterprise_keys.c.revoked_at.is_(None))).first()
        if row is None:
            raise Forbidden(f"the signing key {method!r} is not a registered key of {subject}",
                            code="unknown_enterprise_key")
        return bytes(row.public_key)

    # ---- credit records ----

    def submit_record(self, department: str, actor: bytes, body: dict[str, Any],
                      now: int) -> dict[str, Any]:
        record_type = get_record_type(body.get("recordType")).code
        if not self.trust.current().is_accredited(department, record_type):
            raise Forbidden(f"department {department} is not registered on chain for credit "
                            f"records of type {record_type}", code="not_accredited")
        record = build_record(record_id=f"urn:uuid:{uuid.uuid4()}", subject=body.get("subject"),  # type: ignore[arg-type]
                              record_type=record_type, source_department=department,
                              effective_date=body.get("effectiveDate"),  # type: ignore[arg-type]
                              content=body.get("content"), recorded_at=now)  # type: ignore[arg-type]
        return self._store(record, actor, None)

    def supersede_record(self, department: str, actor: bytes, record_id: str,
                         body: dict[str, Any], now: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(credit_records).where(credit_records.c.id == record_id)).first()
        if row is None:
            raise NotFound(f"no credit record {record_id}")
        record = build_superseding_record(
            _record(row), content=body.get("content"), kind=body.get("kind"),  # type: ignore[arg-type]
            reason=body.get("reason"), now=now, new_id=f"urn:uuid:{uuid.uuid4()}",  # type: ignore[arg-type]
            department=department, superseded_by=row.superseded_by,
            effective_date=body.get("effectiveDate"))
        return self._store(record, actor, row.id)

    def _store(self, record: CreditRecord, actor: bytes, supersedes: str | None) -> dict[str, Any]:
        log = self.logs.named(CREDIT_LOG)
        with write_transaction(self.engine) as conn:
            if supersedes is not None:
                updated = conn.execute(update(credit_records).where(
                    credit_records.c.id == supersedes, credit_records.c.superseded_by.is_(None))
                    .values(superseded_by=record.record_id))
                if updated.rowcount != 1:
                    raise Conflict(f"record {supersedes} was superseded concurrently",
                                   code="already_superseded")
            index = log.append_in(conn, [record_entry(record)])
            conn.execute(insert(credit_records).values(
                id=record.record_id, subject=record.subject, record_type=record.record_type,
                source_department=record.source_department, effective_date=record.effective_date,
                content=json.dumps(record.content, ensure_ascii=False, sort_keys=True),
                recorded_at=record.recorded_at, supersedes=record.supersedes,
                supersede_kind=None if record.supersede_kind is None else record.supersede_kind.value,
                supersede_reason=record.supersede_reason, log_index=index, submitted_by=actor))
        return {**record.to_json(), "logIndex": index}

    def records_of(self, subject: str) -> list[dict[str, Any]]:
        subject = validate_usci(subject, "subject")
        with self.engine.connect() as conn:
            rows = conn.execute(select(credit_records).where(credit_records.c.subject == subject)
                                .order_by(credit_records.c.log_index)).all()
        return [{**_record(r).to_json(), "supersededBy": r.superseded_by,
                 "logIndex": r.log_index} for r in rows]

    # ---- consents ----

    def register_consent(self, document: dict[str, Any], now: int) -> dict[str, Any]:
        terms = parse_consent(document)
        proof = document.get("proof")
        method = proof.get("verificationMethod") if isinstance(proof, dict) else None
        log = self.logs.named(CONSENT_LOG)
        with write_transaction(self.engine) as conn:
            key = self._enterprise_key(conn, terms.grantor, method)
            if not verify_consent_signature(document, key):
                raise Forbidden("the consent's signature does not verify with the grantor's "
                                "registered key", code="signature_invalid")
            if conn.execute(select(consents.c.id).where(consents.c.id == terms.consent_id)).first():
                raise Conflict(f"consent {terms.consent_id} is already registered")
            index = log.append_in(conn, [canonicalize(document)])
            conn.execute(insert(consents).values(
                id=terms.consent_id, grantor=terms.grantor, grantee=terms.grantee,
                state=ConsentState.ACTIVE.value, uses=0, max_uses=terms.max_uses,
                document=canonicalize(document).decode(), digest=consent_digest(document),
                log_index=index, created_at=now, updated_at=now))
        return self.describe_consent(terms.consent_id, now)

    def describe_consent(self, consent_id: str, now: int) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(select(consents).where(consents.c.id == consent_id)).first()
        if row is None:
            raise NotFound(f"no consent {consent_id}")
        terms = parse_consent(json.loads(row.document))
        state = calculate_consent_state(terms, ConsentState(row.state), now)
        return {"id": row.id, "grantor": row.grantor, "grantee": row.grantee,
                "purpose": terms.purpose, "scopes": list(terms.scopes), "state": state.value,
                "uses": row.uses, "maxUses": row.max_uses, "validFrom": terms.valid_from,
                "validUntil": terms.valid_until, "digest": bytes(row.digest).hex(),
                "logIndex": row.log_index}

    def change_consent(self, consent_id: str, change: dict[str, Any], now: int) -> dict[str, Any]:
        log = self.logs.named(CONSENT_LOG)
        parsed = parse_consent_change(change)
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(consents).where(consents.c.id == consent_id)
                               .with_for_update()).first()
            if row is None or parsed.consent_id != consent_id:
                raise NotFound(f"no consent {consent_id}")
            document = json.loads(row.document)
            terms = parse_consent(document)
            key = self._enterprise_key(conn, terms.grantor, parsed.verification_method)
            seen = {n for (n,) in conn.execute(select(consent_changes.c.nonce).where(
                consent_changes.c.consent_id == consent_id))}
            checked = verify_consent_change(change, key, document, now, seen_nonces=seen)
            state = apply_consent_action(terms, ConsentState(row.state), checked.action, now)
            index = log.append_in(conn, [canonicalize(change)])
            conn.execute(insert(consent_changes).values(
                consent_id=consent_id, action=checked.action.value, nonce=checked.nonce,
                time=checked.time, document=canonicalize(change).decode(), log_index=index))
            conn.execute(update(consents).where(consents.c.id == consent_id)
                         .values(state=state.value, updated_at=now))
        return self.describe_consent(consent_id, now)

    # ---- bank queries ----

    def query(self, bank: str, operator: bytes, body: dict[str, Any], now: int) -> dict[str, Any]:
        snapshot = self.trust.current()
        info = snapshot.departments.get(bank)
        if info is None or not info.has_roles(ROLE_BANK):
            raise Forbidden(f"department {bank} does not hold the BANK role on chain")
        consent_id = str(body.get("consentId") or "")
        subject = validate_usci(body.get("subject"), "subject")
        purpose = str(body.get("purpose") or "")
        scopes = body.get("scopes")
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            raise InvalidInput("scopes must be a list of record type codes", field="scopes")
        credit_log = self.logs.named(CREDIT_LOG)
        self.exchanges.ready()
        attestation: dict[str, Any] | None = None
        with write_transaction(self.engine) as conn:
            row = conn.execute(select(consents).where(consents.c.id == consent_id)
                               .with_for_update()).first()
            reason: str | None
            if row is None:
                reason, message = "unknown_consent", f"no consent {consent_id!r} is registered"
            elif row.grantor != subject:
                reason, message = "wrong_subject", (
                    f"consent {consent_id} was given by {row.grantor}, not by {subject}")
            else:
                decision = evaluate_query(json.loads(row.document), ConsentState(row.state),
                                          row.uses, bank=bank, purpose=purpose, scopes=scopes,
                                          now=now)
                reason, message = decision.reason, decision.message
            if reason is None:
                attestation = self._attest(conn, snapshot, row, credit_log, subject, purpose,
                                           scopes, bank, now)
                conn.execute(update(consents).where(consents.c.id == consent_id)
                             .values(uses=consents.c.uses + 1, updated_at=now))
            result = (hashlib.sha256(canonicalize(attestation)).hexdigest() if attestation
                      else hashlib.sha256(f"refused:{reason}".encode()).hexdigest())
            self.exchanges.append_in(
                conn, kind="credit_query", time=now, requester=bank, provider="platform",
                dataset="CREDIT-RECORDS", subject_hash=subject_hash(subject),
                purpose=purpose if purpose else "UNSPECIFIED",
                legal_basis=f"consent {consent_id}" if row is not None else "no consent",
                result_hash=result, decision="allowed" if reason is None else "refused",
                reason=reason, consent_id=consent_id if row is not None else None,
                operator="0x" + operator.hex(), scopes=sorted(set(scopes)))
        if attestation is None:
            assert reason is not None
            raise CreditQueryRefused(message, code=reason)
        return attestation

    def _attest(self, conn: Any, snapshot: TrustSnapshot, consent_row: Any, log: Any,
                subject: str, purpose: str, scopes: Sequence[str], bank: str,
                now: int) -> dict[str, Any]:
        anchored = snapshot.checkpoints.get(chain_log_id(log.origin))
        size = 0 if anchored is None else anchored.size
        rows = conn.execute(select(credit_records).where(
            credit_records.c.subject == subject, credit_records.c.record_type.in_(list(scopes)),
            credit_records.c.superseded_by.is_(None), credit_records.c.log_index < size)).all()
        records = [_record(r) for r in rows]
        proofs = {r.id: (int(r.log_index), self._inclusion_proof(log, int(r.log_index), size))
                  for r in rows}
        note = conn.execute(select(outbox.c.checkpoint).where(
            outbox.c.origin == log.origin, outbox.c.size == size)).scalar() if size else None
        if anchored is None or note is None:
            raise Conflict("the credit log has no anchored checkpoint yet: retry in a few "
                           "seconds", code="not_anchored_yet")
        return build_attestation(
            attestation_id=f"urn:uuid:{uuid.uuid4()}", consent_id=consent_row.id,
            consent_digest=bytes(consent_row.digest), bank=bank, subject=subject,
            purpose=purpose, scopes=scopes, records=records, proofs=proofs,
            checkpoint_note=bytes(note), anchored={"size": size, "root": anchored.root.hex(),
                                                   "block_number": anchored.block_number},
            as_of_block=snapshot.block_number, issued_at=now, valid_for=ATTESTATION_TTL,
            platform_seed=self.platform_seed,
            verification_method=f"did:citychain:platform#{self.platform_kid.hex()}")

    def _inclusion_proof(self, log: Any, index: int, size: int) -> list[bytes]:
        key = (log.origin, index, size)
        proof = self._proofs.get(key)
        if proof is None:
            proof = log.inclusion_proof(index, size)
            if len(self._proofs) >= PROOF_CACHE_SIZE:
                self._proofs.clear()  # simple bound; entries are cheap to recompute
            self._proofs[key] = proof
        return proof

    def authenticate_enterprise(self, subject: str, request: dict[str, Any], now: int) -> None:
        """An enterprise's own request: ``{"type": "AccessLogRequest", "subject", "time",
        "nonce", "proof"}`` signed with its registered key, fresh and never replayed."""
        subject = validate_usci(subject, "subject")
        if request.get("type") != "AccessLogRequest" or request.get("subject") != subject:
            raise InvalidInput("send an AccessLogRequest for this subject, signed by it",
                               field="type")
        sent = request.get("time")
        if not isinstance(sent, int) or abs(sent - now) > 300:
            raise InvalidInput("time must be the current unix time (±300 s)", field="time",
                               code="stale_request")
        nonce = request.get("nonce")
        if not isinstance(nonce, str) or not 16 <= len(nonce) <= 64:
            raise InvalidInput("nonce must be 16-64 random characters", field="nonce")
        proof = request.get("proof")
        method = proof.get("verificationMethod") if isinstance(proof, dict) else None
        with self.engine.connect() as conn:
            key = self._enterprise_key(conn, subject, method)
        if not verify_proof(request, key):
            raise Forbidden("the request's signature does not verify with the enterprise's "
                            "registered key", code="signature_invalid")
        if not self.nonces.remember(subject.encode(), nonce, now + 600):
            raise Conflict("this request was already used", code="replayed_request")

    def access_log(self, subject: str) -> list[dict[str, Any]]:
        return self.exchanges.about(subject_hash(validate_usci(subject, "subject")))


def now_seconds() -> int:
    return int(time.time())
