"""Credit ledger over HTTP on a real node and database: records from registered
departments, enterprise-signed consents, the consent matrix, attestations verified
offline, and an access listing that matches exactly the queries made."""

from __future__ import annotations

import itertools
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import update

from anchoring.note import Ed25519Verifier
from credit_ledger.attestation import verify_attestation
from credit_ledger.consent import build_consent, sign_consent
from credit_ledger.consent_changes import build_consent_change, sign_consent_change
from license_registry.data_integrity import create_proof
from license_registry.identifiers import calculate_usci_check
from license_registry.keys import calculate_kid, generate_signing_key, public_key_of
from license_registry.presented import datetime_text
from tests.credit_ledger.test_consent_matrix import CONSENT_MATRIX
from tests.trust_api.harness import BANK, ISSUER, PG_URL, City, start_city
from trust_api.tables_audit import consents

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

ENTERPRISE = "91420100MA4K00000" + calculate_usci_check("91420100MA4K00000")
TYPES = ("CN-BL", "CR-PEN", "CR-RAT", "CR-TAX")
SEED = generate_signing_key()
METHOD = f"did:citychain:{ENTERPRISE}#{calculate_kid(public_key_of(SEED)).hex()}"
_nonces = itertools.count()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("set CITYCHAIN_TEST_DATABASE_URL to run on PostgreSQL")
    for city in start_city(request.param, tmp_path_factory.mktemp(f"credit-{request.param}"),
                           TYPES):
        reply = city.client("issuer").post(f"/v1/enterprises/{ENTERPRISE}/keys",
                                           json={"publicKey": public_key_of(SEED).hex()})
        assert reply.status_code == 201, reply.text
        for record_type, content in (
                ("CR-PEN", PENALTY), ("CR-RAT", RATING), ("CR-TAX", TAX)):
            submitted = submit(city, record_type, content)
            assert submitted.status_code == 201, submitted.text
        city.settle()
        yield city


PENALTY = {"decisionNumber": "武市监罚〔2026〕12号", "violation": "未按规定公示年度报告",
           "legalBasis": "《企业信息公示暂行条例》第十八条", "penaltyKind": "FINE",
           "fineAmount": "5000.00", "decisionDate": "2026-03-01", "status": "OPEN"}
RATING = {"grade": "A", "ratingAgency": "武汉信用评级中心", "ratingDate": "2026-01-15"}
TAX = {"grade": "A", "assessmentYear": 2025, "taxAuthority": "国家税务总局武汉市税务局"}


def submit(city: City, record_type: str, content: dict[str, Any], as_: str = "issuer") -> Any:
    return city.client(as_).post("/v1/credit-records", json={
        "subject": ENTERPRISE, "recordType": record_type, "effectiveDate": "2026-03-01",
        "content": content})


def register(city: City, *, purpose: str = "LOAN_APPLICATION", scopes: list[str] | None = None,
             valid_from: int | None = None, valid_until: int | None = None,
             max_uses: int = 3, grantee: str = BANK) -> str:
    now = int(time.time())
    consent_id = f"urn:uuid:{uuid.uuid4()}"
    document = sign_consent(build_consent(
        consent_id=consent_id, grantor=ENTERPRISE, grantee=grantee, purpose=purpose,
        scopes=scopes or ["CR-PEN", "CR-RAT"], max_uses=max_uses, created=now - 120,
        valid_from=now - 60 if valid_from is None else valid_from,
        valid_until=now + 3600 if valid_until is None else valid_until), SEED, METHOD)
    reply = city.client("bank").post("/v1/consents", json=document)
    assert reply.status_code == 201, reply.text
    city.documents[consent_id] = document  # type: ignore[attr-defined]
    return consent_id


def change(city: City, consent_id: str, action: str) -> Any:
    document = city.documents[consent_id]  # type: ignore[attr-defined]
    signed = sign_consent_change(build_consent_change(
        consent_id=consent_id, action=action, time=int(time.time()),
        nonce=f"n{next(_nonces):015d}{secrets.token_hex(4)}"), document, SEED, METHOD)
    return city.client("bank").post(f"/v1/consents/{consent_id}/changes", json=signed)


def query(city: City, consent_id: str, *, purpose: str = "LOAN_APPLICATION",
          scopes: list[str] | None = None, as_: str = "bank") -> Any:
    return city.client(as_).post("/v1/credit-queries", json={
        "consentId": consent_id, "subject": ENTERPRISE, "purpose": purpose,
        "scopes": scopes or ["CR-RAT"]})


@pytest.fixture(autouse=True)
def _documents(city: City) -> None:
    if not hasattr(city, "documents"):
        city.documents = {}  # type: ignore[attr-defined]


def test_only_registered_departments_submit_and_records_are_never_edited(city: City) -> None:
    refused = submit(city, "CR-JUD", {"caseNumber": "x"})
    assert refused.status_code in (400, 403)
    judgement = city.client("issuer").post("/v1/credit-records", json={
        "subject": ENTERPRISE, "recordType": "CR-COM", "effectiveDate": "2026-03-01",
        "content": {}})
    assert judgement.status_code in (400, 403)
    assert submit(city, "CR-PEN", PENALTY, as_="bank").status_code == 403
    bad = submit(city, "CR-PEN", {**PENALTY, "fineAmount": 5000.5})
    assert bad.status_code == 400 and "fineAmount" in bad.json()["error"]["fields"][0]["field"]
    original = submit(city, "CR-PEN", PENALTY).json()
    corrected = city.client("issuer").post(
        f"/v1/credit-records/{original['recordId']}/supersede",
        json={"content": {**PENALTY, "fineAmount": "3000.00"}, "kind": "appeal",
              "reason": "reduced on administrative review"})
    assert corrected.status_code == 201, corrected.text
    again = city.client("issuer").post(
        f"/v1/credit-records/{original['recordId']}/supersede",
        json={"content": PENALTY, "kind": "correction", "reason": "again"})
    assert again.status_code == 409
    history = city.client("regulator").get(f"/v1/enterprises/{ENTERPRISE}/credit-records")
    ids = {r["recordId"]: r for r in history.json()["records"]}
    assert ids[original["recordId"]]["supersededBy"] == corrected.json()["recordId"]


MATRIX = [row for row in CONSENT_MATRIX if row[0] != "EXPIRED"]  # EXPIRED is the "after" window


@pytest.mark.parametrize(("state", "scope", "purpose", "window", "uses", "reason"), MATRIX,
                         ids=["-".join(r[:5]) for r in MATRIX])
def test_consent_matrix_over_http(city: City, state: str, scope: str, purpose: str,
                                  window: str, uses: str, reason: str | None) -> None:
    now = int(time.time())
    valid_from, valid_until = {"before": (now + 3600, now + 7200), "in": (now - 60, now + 3600),
                               "after": (now - 7200, now - 10)}[window]
    consent_id = register(city, scopes=["CR-RAT", "CR-TAX"], valid_from=valid_from,
                          valid_until=valid_until, max_uses=2)
    if uses == "at_max":  # two answered queries happen in the window; here set directly
        with city.platform.engine.begin() as conn:
            conn.execute(update(consents).where(consents.c.id == consent_id).values(uses=2))
    if state != "ACTIVE" and window == "after":
        # Paused or revoked while it ran, then its window ended: a change is no longer
        # accepted for an expired consent, so the stored state is set directly.
        with city.platform.engine.begin() as conn:
            conn.execute(update(consents).where(consents.c.id == consent_id).values(state=state))
    elif state != "ACTIVE":
        assert change(city, consent_id, "pause" if state == "PAUSED" else "revoke").status_code == 200
    reply = query(city, consent_id, purpose="LOAN_APPLICATION" if purpose == "match" else "GUARANTEE",
                  scopes=["CR-RAT"] if scope == "in" else ["CR-RAT", "CR-PEN"])
    if reason is None:
        assert reply.status_code == 201, reply.text
        assert reply.json()["type"][-1] == "CreditAttestation"
    else:
        assert reply.status_code == 403, reply.text
        assert reply.json()["error"]["code"] == reason


def test_wrong_bank_unknown_consent_and_non_bank(city: City) -> None:
    consent_id = register(city)
    other = query(city, consent_id, as_="regulator")
    assert other.status_code == 403
    assert query(city, f"urn:uuid:{uuid.uuid4()}").json()["error"]["code"] == "unknown_consent"


def test_attestation_verifies_offline_and_fails_when_altered(city: City) -> None:
    consent_id = register(city, scopes=["CR-PEN", "CR-RAT", "CR-TAX"])
    reply = query(city, consent_id, scopes=["CR-PEN", "CR-RAT", "CR-TAX"])
    assert reply.status_code == 201, reply.text
    attestation = reply.json()
    platform_key = city.platform.bundles.platform_public_key()
    log = city.platform.logs.named("credit")
    log_verifier: Ed25519Verifier = log.signer.verifier()
    anchored = city.platform.trust.current().checkpoints
    from anchoring.anchored_log import chain_log_id

    root = anchored[chain_log_id(log.origin)]

    def lookup(size: int) -> bytes | None:
        return root.root if size == root.size else None

    verdict = verify_attestation(attestation, platform_key, log_verifier, int(time.time()),
                                 anchored_root_lookup=lookup)
    assert verdict.valid, verdict.to_json()
    assert attestation["credentialSubject"]["summary"]["recordCounts"]["CR-PEN"] >= 1
    altered = {**attestation, "credentialSubject": {
        **attestation["credentialSubject"],
        "summary": {**attestation["credentialSubject"]["summary"], "openPenalties": 0}}}
    assert not verify_attestation(altered, platform_key, log_verifier, int(time.time())).valid


def test_pause_resume_revoke_take_effect_at_once_and_replays_are_refused(city: City) -> None:
    consent_id = register(city)
    assert query(city, consent_id).status_code == 201
    assert change(city, consent_id, "pause").status_code == 200
    assert query(city, consent_id).json()["error"]["code"] == "paused"
    assert change(city, consent_id, "resume").status_code == 200
    assert query(city, consent_id).status_code == 201
    signed = sign_consent_change(build_consent_change(
        consent_id=consent_id, action="revoke", time=int(time.time()),
        nonce="replayed-nonce-000001"), city.documents[consent_id], SEED, METHOD)  # type: ignore[attr-defined]
    assert city.client("bank").post(f"/v1/consents/{consent_id}/changes",
                                    json=signed).status_code == 200
    replay = city.client("bank").post(f"/v1/consents/{consent_id}/changes", json=signed)
    assert replay.status_code in (409, 400) and "replay" in replay.json()["error"]["code"] or \
        replay.json()["error"]["code"] == "illegal_transition"
    assert query(city, consent_id).json()["error"]["code"] == "revoked"
    forged = sign_consent_change(build_consent_change(
        consent_id=consent_id, action="resume", time=int(time.time()), nonce="forged-nonce-0000001"),
        city.documents[consent_id], generate_signing_key(), METHOD)  # type: ignore[attr-defined]
    assert city.client("bank").post(f"/v1/consents/{consent_id}/changes",
                                    json=forged).status_code == 403


def test_the_access_listing_matches_every_query_made(city: City) -> None:
    def listing() -> list[dict[str, Any]]:
        request = create_proof({"type": "AccessLogRequest", "subject": ENTERPRISE,
                                "time": int(time.time()), "nonce": secrets.token_hex(12)},
                               SEED, METHOD, datetime_text(int(time.time())))
        reply = city.client("bank").post(f"/v1/enterprises/{ENTERPRISE}/access-log",
                                         json=request)
        assert reply.status_code == 200, reply.text
        return reply.json()["queries"]

    before = listing()
    consent_id = register(city, max_uses=1)
    made = [query(city, consent_id), query(city, consent_id),
            query(city, consent_id, purpose="GUARANTEE")]
    assert [r.status_code for r in made] == [201, 403, 403]
    after = listing()
    new = after[len(before):]
    assert [(q["decision"], q.get("reason")) for q in new] == [
        ("allowed", None), ("refused", "exhausted"), ("refused", "exhausted")]
    assert all(q["consentId"] == consent_id and q["requester"] == BANK for q in new)
    assert [q["seq"] for q in after] == sorted(q["seq"] for q in after)
    unsigned = city.client("bank").post(f"/v1/enterprises/{ENTERPRISE}/access-log",
                                        json={"type": "AccessLogRequest", "subject": ENTERPRISE,
                                              "time": int(time.time()), "nonce": "x" * 20})
    assert unsigned.status_code == 403
    assert ISSUER  # the issuing department registered the enterprise's key


def test_bad_and_unauthorized_writes_are_refused_with_their_reason(city: City) -> None:
    import httpx

    url = city.api_url
    anonymous = httpx.post(f"{url}/v1/credit-records", json={"subject": ENTERPRISE})
    assert anonymous.status_code == 401
    assert submit(city, "CR-PEN", PENALTY, as_="outsider").json()["error"]["code"] == \
        "unknown_account"
    not_bank = query(city, register(city), as_="issuer")
    assert not_bank.status_code == 403 and "BANK" in not_bank.json()["error"]["message"]
    key = public_key_of(generate_signing_key()).hex()
    assert city.client("verifier").post(f"/v1/enterprises/{ENTERPRISE}/keys",
                                        json={"publicKey": key}).status_code == 403
    assert city.client("issuer").post(f"/v1/enterprises/{ENTERPRISE}/keys",
                                      json={"publicKey": "zz"}).status_code == 400
    assert city.client("issuer").post(f"/v1/enterprises/{ENTERPRISE}/keys",
                                      json={"publicKey": public_key_of(SEED).hex()}
                                      ).status_code == 409
    # A consent signed by a key that is not the enterprise's, a malformed one, a duplicate.
    now = int(time.time())
    forged = sign_consent(build_consent(
        consent_id=f"urn:uuid:{uuid.uuid4()}", grantor=ENTERPRISE, grantee=BANK,
        purpose="LOAN_APPLICATION", scopes=["CR-RAT"], valid_from=now, valid_until=now + 60,
        max_uses=1, created=now), generate_signing_key(), METHOD)
    assert city.client("bank").post("/v1/consents", json=forged).status_code == 403
    assert city.client("bank").post("/v1/consents", json={"type": "x"}).status_code == 400
    consent_id = register(city)
    duplicate = city.client("bank").post("/v1/consents",
                                         json=city.documents[consent_id])  # type: ignore[attr-defined]
    assert duplicate.status_code == 409
    assert city.client("bank").post(f"/v1/consents/{consent_id}/changes",
                                    json={"action": "revoke"}).status_code == 400
    # Traces and exchanges: each malformed field named.
    for body, field in (
            ({"subjectKind": "SPACESHIP", "subjectId": "X", "eventType": "PRODUCED",
              "payloadHash": "00" * 32}, "subjectKind"),
            ({"subjectKind": "FOOD_LOT", "subjectId": "L-1", "eventType": "LAUNCHED",
              "payloadHash": "00" * 32}, "eventType"),
            ({"subjectKind": "FOOD_LOT", "subjectId": "L-1", "eventType": "PRODUCED",
              "payloadHash": "xyz"}, "payloadHash")):
        reply = city.client("issuer").post("/v1/traces", json=body)
        assert reply.status_code == 400, reply.text
        assert reply.json()["error"]["fields"][0]["field"] == field
    self_exchange = city.client("issuer").post("/v1/exchanges", json={
        "provider": ISSUER, "dataset": "X", "subjectHash": "00" * 32, "purpose": "P",
        "legalBasis": "law", "resultHash": "00" * 32})
    assert self_exchange.status_code == 400
    huge = city.client("issuer").post("/v1/traces", json={"x": "a" * (17 * 1024 * 1024)})
    assert huge.status_code == 413
    for path in ("/v1/audit/traces/verify", "/v1/audit/credit/reports"):
        assert city.client("bank").post(path, json={}).status_code == 403
