"""The authorization matrix, over HTTP against a real city (SQLite and PostgreSQL): every
kind of caller against every write endpoint, and for every refused write, proof that
nothing changed.

Callers: the issuer department's two accounts (signed) and a bearer token of its admin
account; a verifier and a bank department (no ISSUER role); an account of no department;
no credentials; forged, tampered, stale and replayed signatures; expired, garbage and
foreign-secret tokens. Cross-department reads answer 404, exactly as for an id that
does not exist, so another department cannot probe which licenses exist.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from tests.trust_api.harness import BANK, ISSUER, PG_URL, VERIFIER, City, start_city
from tests.trust_api.samples import license_body
from trust_api.auth import HEADER_ACCOUNT, address_of, issue_token, new_nonce, sign_request
from trust_api.tables import chain_outbox, issuer_keys, jobs, license_events, licenses

pytestmark = [pytest.mark.timeout(900), pytest.mark.slow]

YEAR = 365 * 86400


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("set CITYCHAIN_TEST_DATABASE_URL to run on PostgreSQL")
    yield from start_city(request.param, tmp_path_factory.mktemp(f"authz-{request.param}"))


# --- sending requests as every kind of caller ------------------------------------------------


def _address(city: City, label: str) -> bytes:
    from coincurve import PrivateKey

    return address_of(PrivateKey(city.accounts[label]))


def _body_bytes(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body, separators=(",", ":")).encode()


def _signed(key: bytes, method: str, path: str, body: bytes, *,
            timestamp: int | None = None) -> dict[str, str]:
    headers = sign_request(key, method, path, "", body,
                           int(time.time()) if timestamp is None else timestamp, new_nonce())
    if body:
        headers["Content-Type"] = "application/json"
    return headers


def _bearer(token: str, body: bytes) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if body:
        headers["Content-Type"] = "application/json"
    return headers


@dataclass
class Session:
    """One city, one HTTP connection pool, and the tokens the callers use."""

    city: City
    http: httpx.Client
    issuer_token: str

    def headers_for(self, caller: str, method: str, path: str, body: bytes) -> tuple[dict[str, str], bytes]:
        """(headers, body actually sent) for ``caller``."""
        city = self.city
        secret = city.platform.settings.secret("token_secret")
        issuer = _address(city, "issuer")
        if caller in ("issuer", "issuer-operator", "verifier", "bank", "outsider"):
            return _signed(city.accounts[caller], method, path, body), body
        if caller == "issuer-token":
            return _bearer(self.issuer_token, body), body
        if caller == "anonymous":
            return ({"Content-Type": "application/json"} if body else {}), body
        if caller == "forged":  # signed by the verifier's key, claiming the issuer's account
            headers = _signed(city.accounts["verifier"], method, path, body)
            headers[HEADER_ACCOUNT] = "0x" + issuer.hex()
            return headers, body
        if caller == "tampered":  # the issuer signed one body; another one is sent
            headers = _signed(city.accounts["issuer"], method, path, body)
            return headers, (body + b" " if body else b"{}")
        if caller == "stale":  # an hour-old signature (allowed skew is 300 s)
            return _signed(city.accounts["issuer"], method, path, body,
                           timestamp=int(time.time()) - 3600), body
        if caller == "expired-token":
            token = issue_token(secret, issuer, int(time.time()) - 2000, 900)
            return _bearer(token, body), body
        if caller == "garbage-token":
            return _bearer("cct1.not-a-token.at-all", body), body
        if caller == "foreign-token":  # well formed, MAC'd with another secret
            token = issue_token(secrets.token_bytes(32), issuer, int(time.time()), 900)
            return _bearer(token, body), body
        raise AssertionError(caller)

    def send(self, caller: str, method: str, path: str, body: Any) -> httpx.Response:
        raw = _body_bytes(body)
        headers, sent = self.headers_for(caller, method, path, raw)
        return self.http.request(method, self.city.api_url + path, content=sent, headers=headers)

    def as_issuer(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.send("issuer", method, path, body)


@pytest.fixture(scope="module")
def session(city: City) -> Iterator[Session]:
    with httpx.Client(timeout=30) as http:
        raw = b""
        reply = http.post(city.api_url + "/v1/auth/token",
                          headers=_signed(city.accounts["issuer"], "POST", "/v1/auth/token", raw))
        assert reply.status_code == 200, reply.text
        yield Session(city, http, reply.json()["token"])


# --- targets: the licenses and keys a write acts on ------------------------------------------


def issue(session: Session, license_type: str = "CN-BL") -> dict[str, Any]:
    reply = session.as_issuer("POST", "/v1/licenses", license_body(license_type))
    assert reply.status_code == 201, reply.text
    return reply.json()


def suspended(session: Session) -> dict[str, Any]:
    issued = issue(session, "CN-FBL")
    reply = session.as_issuer("POST", f"/v1/licenses/{issued['id']}/suspend",
                              {"reason": "inspection pending"})
    assert reply.status_code == 200, reply.text
    return issued


def new_key(session: Session) -> str:
    reply = session.as_issuer("POST", "/v1/issuer-keys",
                              {"validUntil": int(time.time()) + YEAR})
    assert reply.status_code == 201, reply.text
    return str(reply.json()["kid"])


@dataclass
class Target:
    license_id: str = ""
    kid: str = ""
    code: str = ""


@dataclass(frozen=True)
class Endpoint:
    name: str
    issuer_only: bool  # needs the ISSUER role; the others any active department's account
    ok: int  # the status when the caller is entitled
    path: Callable[[Target], str]
    body: Callable[[Target], Any]
    needs: str  # "" | "active" | "suspended" | "key": what target a write acts on


ENDPOINTS = [
    Endpoint("issue", True, 201, lambda t: "/v1/licenses", lambda t: license_body("CN-BL"), ""),
    Endpoint("batch", True, 201, lambda t: "/v1/licenses/batch",
             lambda t: {"items": [license_body("CN-BL"), license_body("CN-PQC")]}, ""),
    Endpoint("job", True, 202, lambda t: "/v1/license-jobs",
             lambda t: {"items": [license_body("CN-FBL")]}, ""),
    Endpoint("suspend", True, 200, lambda t: f"/v1/licenses/{t.license_id}/suspend",
             lambda t: {"reason": "inspection pending"}, "active"),
    Endpoint("reinstate", True, 200, lambda t: f"/v1/licenses/{t.license_id}/reinstate",
             lambda t: {"reason": "inspection passed"}, "suspended"),
    Endpoint("revoke", True, 200, lambda t: f"/v1/licenses/{t.license_id}/revoke",
             lambda t: {"reason": "obtained by fraud"}, "active"),
    Endpoint("renew", True, 201, lambda t: f"/v1/licenses/{t.license_id}/renew",
             lambda t: {"reason": "renewal", "validUntil": int(time.time()) + 2 * YEAR},
             "active"),
    Endpoint("create-key", True, 201, lambda t: "/v1/issuer-keys",
             lambda t: {"validUntil": int(time.time()) + YEAR}, ""),
    Endpoint("revoke-key", True, 200, lambda t: f"/v1/issuer-keys/{t.kid}/revoke",
             lambda t: {"reason": "superseded"}, "key"),
    Endpoint("token", False, 200, lambda t: "/v1/auth/token", lambda t: None, ""),
    Endpoint("verify", False, 200, lambda t: "/v1/verify", lambda t: {"cityCode": t.code}, ""),
]
BY_NAME = {e.name: e for e in ENDPOINTS}

ENTITLED = ("issuer", "issuer-operator", "issuer-token")
DEPARTMENTS = {"verifier": VERIFIER, "bank": BANK}
OTHER_DEPARTMENTS = ("verifier", "bank")
CALLERS = (*ENTITLED, *OTHER_DEPARTMENTS, "outsider", "anonymous", "forged", "tampered",
           "stale", "expired-token", "garbage-token", "foreign-token")
AUTH_FAILURES = {
    "anonymous": "missing_credentials", "forged": "bad_signature", "tampered": "bad_signature",
    "stale": "clock_skew", "expired-token": "token_expired", "garbage-token": "token_invalid",
    "foreign-token": "token_invalid",
}


def expected(caller: str, endpoint: Endpoint) -> tuple[int, str | None]:
    """(status, error code) the matrix requires; code None when the write is allowed."""
    if caller in AUTH_FAILURES:
        return 401, AUTH_FAILURES[caller]
    if caller == "outsider":
        return 403, "unknown_account"
    if caller in OTHER_DEPARTMENTS and endpoint.issuer_only:
        return 403, "missing_role"
    if caller == "issuer-token" and endpoint.name == "token":
        return 403, "forbidden"  # a token must not mint its successor
    return endpoint.ok, None


@pytest.fixture(scope="module")
def shared(session: Session) -> dict[str, Target]:
    """Targets the refused writes aim at (never changed, by the matrix's assertions)."""
    active = issue(session)
    kid = new_key(session)
    session.city.settle()  # the key is listed and the workers idle before the matrix runs
    return {
        "": Target(code=active["cityCode"]),
        "active": Target(license_id=active["id"], code=active["cityCode"]),
        "suspended": Target(license_id=suspended(session)["id"], code=active["cityCode"]),
        "key": Target(kid=kid, code=active["cityCode"]),
    }


def fresh(session: Session, endpoint: Endpoint, shared: dict[str, Target]) -> Target:
    """A target of its own, for a write that is carried out."""
    code = shared[""].code
    if endpoint.needs == "active":
        return Target(license_id=issue(session)["id"], code=code)
    if endpoint.needs == "suspended":
        return Target(license_id=suspended(session)["id"], code=code)
    if endpoint.needs == "key":
        return Target(kid=new_key(session), code=code)
    return Target(code=code)


# --- "nothing changed" -------------------------------------------------------------------------


def world(session: Session, shared: dict[str, Target], target: Target) -> dict[str, Any]:
    """Everything a write could change, read as the issuer (HTTP) and from the database."""
    engine = session.city.platform.engine
    with engine.connect() as conn:
        counts = {table.name: conn.execute(select(func.count()).select_from(table)).scalar()
                  for table in (licenses, license_events, jobs, issuer_keys)}
        counts["key_writes"] = conn.execute(
            select(func.count()).select_from(chain_outbox)
            .where(chain_outbox.c.kind.in_(("add_key", "revoke_key")))).scalar()
    keys = session.as_issuer("GET", "/v1/issuer-keys")
    assert keys.status_code == 200, keys.text
    state: dict[str, Any] = {
        "counts": counts,
        # "onChain" moves from pending to listed as the chain catches up: not a change.
        "keys": [{k: v for k, v in key.items() if k != "onChain"} for key in keys.json()["keys"]],
    }
    for license_id in {target.license_id, *(t.license_id for t in shared.values())}:
        if license_id:
            reply = session.as_issuer("GET", f"/v1/licenses/{license_id}")
            assert reply.status_code == 200, reply.text
            state[license_id] = reply.json()
    return state


def assert_error(reply: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert reply.status_code == status, (reply.status_code, reply.text)
    error = reply.json()["error"]
    assert error["code"] == code, error
    assert isinstance(error["message"], str) and error["message"], error
    assert isinstance(error["fields"], list), error
    return error  # type: ignore[no-any-return]


def wait_for_job(session: Session, job_id: str) -> dict[str, Any]:
    def finished() -> dict[str, Any] | None:
        reply = session.as_issuer("GET", f"/v1/license-jobs/{job_id}")
        assert reply.status_code == 200, reply.text
        job = reply.json()
        return job if job["status"] in ("succeeded", "failed") else None

    return session.city.wait(finished, 30, f"job {job_id}")  # type: ignore[no-any-return]


def check_carried_out(session: Session, caller: str, endpoint: Endpoint, target: Target,
                      reply: httpx.Response, actor: bytes) -> None:
    """An entitled write did what it says, on behalf of the right account."""
    out = reply.json()
    department = DEPARTMENTS.get(caller, ISSUER)
    if endpoint.name == "job":
        job = wait_for_job(session, out["id"])
        assert job["status"] == "succeeded" and job["done"] == 1, job
    elif endpoint.name == "batch":
        assert out["issued"] == 2, out
    elif endpoint.name == "token":
        assert out["token"].startswith("cct1.") and out["department"] == department, out
    elif endpoint.name == "verify":
        assert out["verifier"] == department and out["license"]["issuer"] == ISSUER, out
    elif endpoint.name == "revoke-key":
        assert out["kid"] == target.kid and out["revokedAt"] is not None, out
    elif endpoint.name == "create-key":
        assert out["department"] == ISSUER, out
    if endpoint.needs in ("active", "suspended"):
        described = session.as_issuer("GET", f"/v1/licenses/{target.license_id}").json()
        last = described["events"][-1]
        assert last["actor"] == "0x" + actor.hex(), (caller, last)
        assert last["kind"] == {"suspend": "suspended", "reinstate": "reinstated",
                                "revoke": "revoked", "renew": "superseded"}[endpoint.name]


# --- the matrix ----------------------------------------------------------------------------------


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_matrix(session: Session, shared: dict[str, Target], endpoint: Endpoint,
                caller: str) -> None:
    status, code = expected(caller, endpoint)
    if code is None:
        target = fresh(session, endpoint, shared)
        reply = session.send(caller, "POST", endpoint.path(target), endpoint.body(target))
        assert reply.status_code == status, (caller, endpoint.name, reply.text)
        actor = _address(session.city, "issuer" if caller == "issuer-token" else caller)
        check_carried_out(session, caller, endpoint, target, reply, actor)
        return
    target = shared[endpoint.needs]
    body = endpoint.body(target)
    before = world(session, shared, target)
    reply = session.send(caller, "POST", endpoint.path(target), body)
    error = assert_error(reply, status, code)
    if status == 401:
        assert reply.headers.get("www-authenticate", "").startswith("Bearer"), reply.headers
    if code == "missing_role" and endpoint.issuer_only:
        assert "needs the ISSUER role" in error["message"], error
    assert "token" not in reply.json()
    assert world(session, shared, target) == before, f"{caller} changed something with {endpoint.name}"
    if isinstance(body, dict) and "licenseNumber" in json.dumps(body):
        numbers = [i["licenseNumber"] for i in body.get("items", [body])]
        with session.city.platform.engine.connect() as conn:
            found = conn.execute(select(func.count()).select_from(licenses)
                                 .where(licenses.c.license_number.in_(numbers))).scalar()
        assert found == 0, numbers


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.name)
def test_replayed_request_is_refused(session: Session, shared: dict[str, Target],
                                     endpoint: Endpoint) -> None:
    """The exact same signed headers and body, sent twice: the second changes nothing."""
    target = fresh(session, endpoint, shared)
    path, body = endpoint.path(target), _body_bytes(endpoint.body(target))
    headers = _signed(session.city.accounts["issuer"], "POST", path, body)
    first = session.http.post(session.city.api_url + path, content=body, headers=headers)
    assert first.status_code == endpoint.ok, first.text
    if endpoint.name == "job":
        wait_for_job(session, first.json()["id"])
    before = world(session, shared, target)
    again = session.http.post(session.city.api_url + path, content=body, headers=headers)
    assert_error(again, 401, "replayed_request")
    assert world(session, shared, target) == before


def test_bearer_token_and_signature_together_are_refused(session: Session) -> None:
    """A bearer token and signed headers together are refused, not resolved either way."""
    body = b""
    headers = _signed(session.city.accounts["issuer"], "POST", "/v1/auth/token", body)
    headers["Authorization"] = f"Bearer {session.issuer_token}"
    reply = session.http.post(session.city.api_url + "/v1/auth/token", content=body,
                              headers=headers)
    assert_error(reply, 401, "malformed_credentials")


# --- cross-department: no reads, no changes, no probing ------------------------------------------


@pytest.mark.parametrize("other", OTHER_DEPARTMENTS)
def test_other_department_cannot_see_the_issuers_license(session: Session,
                                                         shared: dict[str, Target],
                                                         other: str) -> None:
    real = shared["active"].license_id
    missing = f"urn:uuid:{uuid.uuid4()}"
    for suffix in ("", "/qr.png", "/qr.svg", "/proof"):
        theirs = session.send(other, "GET", f"/v1/licenses/{real}{suffix}", None)
        nothing = session.send(other, "GET", f"/v1/licenses/{missing}{suffix}", None)
        a = assert_error(theirs, 404, "not_found")
        b = assert_error(nothing, 404, "not_found")
        # The same answer as for an id that does not exist: existence is not leaked.
        assert a["message"].replace(real, "ID") == b["message"].replace(missing, "ID")
        assert a["fields"] == b["fields"]
        assert "武汉" not in theirs.text  # nothing of the license itself
    # Its own view of keys and its own (empty) license space hold nothing of the issuer's.
    keys = session.send(other, "GET", "/v1/issuer-keys", None)
    assert keys.status_code == 200 and keys.json()["keys"] == [], keys.text


@pytest.mark.parametrize("other", OTHER_DEPARTMENTS)
def test_other_department_cannot_read_the_issuers_job(session: Session, other: str) -> None:
    reply = session.as_issuer("POST", "/v1/license-jobs", {"items": [license_body("CN-BL")]})
    assert reply.status_code == 202, reply.text
    job_id = reply.json()["id"]
    wait_for_job(session, job_id)
    theirs = session.send(other, "GET", f"/v1/license-jobs/{job_id}", None)
    nothing = session.send(other, "GET", f"/v1/license-jobs/{uuid.uuid4()}", None)
    assert_error(theirs, 404, "not_found")
    assert_error(nothing, 404, "not_found")


def test_verifier_verdict_is_for_its_own_department(session: Session,
                                                    shared: dict[str, Target]) -> None:
    """Verification is open to every department, and judged for the caller's own policy."""
    reply = session.send("verifier", "POST", "/v1/verify", {"cityCode": shared[""].code})
    assert reply.status_code == 200, reply.text
    verdict = reply.json()
    assert verdict["verifier"] == VERIFIER
    assert "not_recognized" in verdict["reasons"], verdict
