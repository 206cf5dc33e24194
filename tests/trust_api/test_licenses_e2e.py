"""Acceptance, end to end over HTTP on a real node and database (SQLite and PostgreSQL):
issue, render the QR, decode it with a real QR decoder, verify — and each way a city
code can be wrong gives its verdict and reason, online and offline alike."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from license_registry.city_code import decode_city_code, encode_city_code
from license_registry.keys import generate_signing_key
from license_registry.trust_bundle import OfflineVerifier
from tests.trust_api.harness import ISSUER, KEYS, PG_URL, VERIFIER, City, start_city
from tests.trust_api.samples import license_body

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("set CITYCHAIN_TEST_DATABASE_URL to run on PostgreSQL")
    yield from start_city(request.param, tmp_path_factory.mktemp(f"city-{request.param}"))


def issue(city: City, body: dict[str, Any]) -> dict[str, Any]:
    reply = city.client("issuer").post("/v1/licenses", json=body)
    assert reply.status_code == 201, reply.text
    return reply.json()


def verify(city: City, code: str, as_: str = "issuer") -> dict[str, Any]:
    reply = city.client(as_).post("/v1/verify", json={"cityCode": code})
    assert reply.status_code == 200, reply.text
    return reply.json()


def offline(city: City, code: str, department: str) -> dict[str, Any]:
    bundle = city.client("issuer").get("/v1/trust-bundle").json()
    verifier = OfflineVerifier(bundle, city.platform.bundles.platform_public_key())
    return verifier.verify(code, int(time.time()), department).to_json()


def assert_verdict(city: City, code: str, reasons: list[str], *, as_: str = "issuer",
                   department: str = ISSUER) -> dict[str, Any]:
    online = verify(city, code, as_)
    assert online["reasons"] == reasons, online
    assert online["verdict"] == ("valid" if not reasons else "invalid")
    off = offline(city, code, department)
    off_reasons = [r for r in off["reasons"]]
    online_reasons = [r for r in reasons if r not in ("not_anchored", "anchor_pending")]
    assert off_reasons == online_reasons, off
    assert off["verdict"] == ("valid" if not online_reasons else "invalid")
    return online


def test_issue_render_scan_verify(city: City, tmp_path: Path) -> None:
    issued = issue(city, license_body("CN-BL"))
    code = issued["cityCode"]
    assert code.startswith("CC1:") and len(code) <= 600
    png = city.client("issuer").get(f"/v1/licenses/{issued['id']}/qr.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    (tmp_path / "city-code.png").write_bytes(png.content)
    scanned = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.content)))
    assert [b.text for b in scanned] == [code]
    city.settle()
    verdict = assert_verdict(city, scanned[0].text, [])
    anchoring = next(c for c in verdict["checks"] if c["name"] == "anchoring")
    assert anchoring["outcome"] == "pass"
    assert verdict["anchor"]["index"] == issued["logIndex"]
    assert verdict["license"]["holder"] == "91110000600037341L"
    # The full credential verifies too, and its anchoring proof is the same entry.
    full = city.client("issuer").post("/v1/verify", json={"credential": issued["credential"]})
    assert full.json()["verdict"] == "valid", full.text


def test_one_changed_character_is_refused(city: City) -> None:
    code = issue(city, license_body("CN-BL"))["cityCode"]
    city.settle()
    position = len(code) // 2
    replacement = "A" if code[position] != "A" else "B"
    tampered = code[:position] + replacement + code[position + 1:]
    verdict = verify(city, tampered)
    assert verdict["verdict"] == "invalid"
    assert verdict["reasons"][0] in ("signature_invalid", "bad_base45", "bad_zlib", "bad_cose",
                                     "bad_cwt", "bad_claims", "unknown_key")


def test_code_from_an_unknown_key(city: City) -> None:
    genuine = decode_city_code(issue(city, license_body("CN-BL"))["cityCode"])
    forger = generate_signing_key()
    forged = encode_city_code(genuine.claims, b"\x01" * 8, forger)
    city.settle()
    assert_verdict(city, forged, ["unknown_key"])


def test_expired_license(city: City) -> None:
    now = int(time.time())
    code = issue(city, license_body("CN-BL", valid_from=now - 400 * 86400,
                                    valid_until=now + 2))["cityCode"]
    city.settle()
    city.wait(lambda: time.time() > now + 3, 10, "expiry")
    assert_verdict(city, code, ["expired"])


def test_revoked_license(city: City) -> None:
    issued = issue(city, license_body("CN-BL"))
    city.settle()
    reply = city.client("issuer").post(f"/v1/licenses/{issued['id']}/revoke",
                                       json={"reason": "obtained by fraud"})
    assert reply.status_code == 200 and reply.json()["state"] == "REVOKED", reply.text
    # Online verification sees the revocation at once.
    assert verify(city, issued["cityCode"])["reasons"] == ["revoked"]
    city.settle()
    assert_verdict(city, issued["cityCode"], ["revoked"])
    again = city.client("issuer").post(f"/v1/licenses/{issued['id']}/reinstate",
                                       json={"reason": "no"})
    assert again.status_code == 409 and again.json()["error"]["code"] == "illegal_transition"


def test_suspended_then_reinstated(city: City) -> None:
    issued = issue(city, license_body("CN-FBL"))
    client = city.client("issuer")
    assert client.post(f"/v1/licenses/{issued['id']}/suspend",
                       json={"reason": "inspection pending"}).status_code == 200
    city.settle()
    assert_verdict(city, issued["cityCode"], ["suspended"])
    assert client.post(f"/v1/licenses/{issued['id']}/reinstate",
                       json={"reason": "inspection passed"}).status_code == 200
    city.settle()
    assert_verdict(city, issued["cityCode"], [])
    events = [e["kind"] for e in client.get(f"/v1/licenses/{issued['id']}").json()["events"]]
    assert events == ["issued", "suspended", "reinstated"]


def test_recognition_by_another_department(city: City) -> None:
    code = issue(city, license_body("CN-BL"))["cityCode"]
    city.settle()
    assert_verdict(city, code, ["not_recognized"], as_="verifier", department=VERIFIER)
    now = int(time.time())
    city.platform.chain.recognize(city.accounts["verifier"], ISSUER, "CN-BL", now - 60,
                                  now + 86400)
    city.settle()
    assert_verdict(city, code, [], as_="verifier", department=VERIFIER)
    city.platform.chain.withdraw_recognition(city.accounts["verifier"], ISSUER, "CN-BL")
    city.settle()
    assert_verdict(city, code, ["not_recognized"], as_="verifier", department=VERIFIER)


def test_type_no_longer_accredited(city: City) -> None:
    code = issue(city, license_body("CN-PQC"))["cityCode"]
    city.settle()
    assert_verdict(city, code, [])
    city.platform.chain.withdraw_accreditation([KEYS["city-admin"]], ISSUER, "CN-PQC")
    city.settle()
    assert_verdict(city, code, ["issuer_not_accredited"])
    refused = city.client("issuer").post("/v1/licenses", json=license_body("CN-PQC"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_accredited"
    never = city.client("issuer").post("/v1/licenses", json=license_body("CN-DL"))
    assert never.status_code == 403 and "CN-DL" in never.json()["error"]["message"]


def _new_key(city: City) -> str:
    reply = city.client("issuer").post("/v1/issuer-keys",
                                       json={"validUntil": int(time.time()) + 86400 * 365})
    assert reply.status_code == 201, reply.text
    kid = reply.json()["kid"]
    city.settle()
    assert city.platform.trust.current().key(ISSUER, bytes.fromhex(kid)) is not None
    return kid


def test_key_rotation_keeps_old_credentials_valid(city: City) -> None:
    old = issue(city, license_body("CN-BL"))
    old_kid = decode_city_code(old["cityCode"]).kid.hex()
    new_kid = _new_key(city)
    new = issue(city, license_body("CN-BL"))
    assert decode_city_code(new["cityCode"]).kid.hex() == new_kid != old_kid
    # The old key is retired (superseded) now: what it signed before stays valid.
    reply = city.client("issuer").post(f"/v1/issuer-keys/{old_kid}/revoke",
                                       json={"reason": "superseded"})
    assert reply.status_code == 200, reply.text
    city.settle()
    assert_verdict(city, old["cityCode"], [])
    assert_verdict(city, new["cityCode"], [])


def test_compromised_key_invalidates_only_later_credentials(city: City) -> None:
    kid = _new_key(city)
    before = issue(city, license_body("CN-BL"))
    compromised_at = int(time.time()) + 1
    city.wait(lambda: time.time() >= compromised_at + 0.1, 5, "the compromise time")
    after = issue(city, license_body("CN-BL"))
    assert decode_city_code(after["cityCode"]).kid.hex() == kid
    reply = city.client("issuer").post(f"/v1/issuer-keys/{kid}/revoke", json={
        "reason": "keyCompromise", "compromisedAt": compromised_at})
    assert reply.status_code == 200, reply.text
    city.settle()
    assert_verdict(city, before["cityCode"], [])
    assert_verdict(city, after["cityCode"], ["key_compromised"])
    # Issuance needs a listed key again.
    refused = city.client("issuer").post("/v1/licenses", json=license_body("CN-BL"))
    assert refused.status_code in (201, 409)


def test_openapi_and_docs_are_served(city: City) -> None:
    import httpx

    docs = httpx.get(f"{city.api_url}/docs", timeout=10)
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
    schema = httpx.get(f"{city.api_url}/openapi.json", timeout=10).json()
    for path in ("/v1/licenses", "/v1/licenses/batch", "/v1/license-jobs", "/v1/verify",
                 "/v1/trust-bundle", "/v1/issuer-keys", "/v1/auth/token"):
        assert path in schema["paths"], path


def test_status_lists_are_signed_and_their_digests_on_chain(city: City) -> None:
    import hashlib

    import httpx

    from license_registry.data_integrity import verify_proof
    from license_registry.status_list import read_status
    from trust_api.status_store import list_id

    issued = issue(city, license_body("CN-BL"))
    city.client("issuer").post(f"/v1/licenses/{issued['id']}/suspend", json={"reason": "audit"})
    city.settle()
    n, index = issued["statusList"], issued["statusIndex"]
    snapshot = city.platform.trust.current()
    for purpose, expected in (("revocation", False), ("suspension", True)):
        url = f"{city.api_url}/v1/status-lists/{ISSUER}/{n}/{purpose}"
        reply = httpx.get(url, timeout=10)
        assert reply.status_code == 200
        published = snapshot.status_lists[list_id(url)]
        assert published.digest == hashlib.sha256(reply.content).digest()
        credential = reply.json()
        kid = bytes.fromhex(credential["proof"]["verificationMethod"].split("#")[1])
        key = snapshot.key(ISSUER, kid)
        assert key is not None and verify_proof(credential, key.public_key)
        assert read_status(credential, index) is expected
    missing = httpx.get(f"{city.api_url}/v1/status-lists/{ISSUER}/999/revocation", timeout=10)
    assert missing.status_code == 404
    bad = httpx.get(f"{city.api_url}/v1/status-lists/NOT-A-USCI/0/revocation", timeout=10)
    assert bad.status_code == 400


def test_proof_svg_keys_and_service_account_routes(city: City) -> None:
    from anchoring.verification import RecordProof  # noqa: F401  (the proof bundle's format)

    client = city.client("issuer")
    issued = issue(city, license_body("CN-BL"))
    city.settle()
    proof = client.get(f"/v1/licenses/{issued['id']}/proof")
    assert proof.status_code == 200 and proof.json()["index"] == issued["logIndex"]
    svg = client.get(f"/v1/licenses/{issued['id']}/qr.svg", params={"error": "Q"})
    assert svg.status_code == 200 and svg.text.lstrip().startswith("<")
    keys = client.get("/v1/issuer-keys").json()["keys"]
    assert any(k["onChain"] == "listed" and k["revokedAt"] is None for k in keys)
    account = client.get("/v1/service-account").json()
    assert account["isDepartmentAccount"] is True and account["pendingWrites"] == []
    assert client.get("/v1/licenses/urn:uuid:00000000-0000-0000-0000-000000000000").status_code == 404
