"""Batch issuance (all or nothing), jobs with progress, renewal, and personal data kept
out of codes, credentials and the chain — over HTTP on a real node and database."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from chain.cli import main as cli
from license_registry.city_code import decode_city_code
from tests.trust_api.harness import ISSUER, PG_URL, City, start_city
from tests.trust_api.samples import license_body
from trust_api.tables import licenses

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("set CITYCHAIN_TEST_DATABASE_URL to run on PostgreSQL")
    yield from start_city(request.param, tmp_path_factory.mktemp(f"issuance-{request.param}"))


def _count(city: City) -> int:
    with city.platform.engine.connect() as conn:
        return len(conn.execute(select(licenses.c.id)).all())


def test_a_batch_is_all_or_nothing(city: City) -> None:
    client = city.client("issuer")
    before = _count(city)
    items = [license_body("CN-BL") for _ in range(50)]
    items[37] = {**items[37], "holder": {"idType": "USCI", "id": "91110000600037341X"}}
    refused = client.post("/v1/licenses/batch", json={"items": items})
    assert refused.status_code == 400, refused.text
    error = refused.json()["error"]
    assert error["fields"][0]["field"].startswith("items[37].")
    assert "check" in error["message"]
    assert _count(city) == before  # nothing half-written
    items[37] = license_body("CN-BL")
    accepted = client.post("/v1/licenses/batch", json={"items": items})
    assert accepted.status_code == 201, accepted.text
    assert accepted.json()["issued"] == 50
    assert _count(city) == before + 50
    # The same batch again: every number is taken, so none is issued.
    again = client.post("/v1/licenses/batch", json={"items": items})
    assert again.status_code == 409 and again.json()["error"]["code"] == "duplicate_license"
    assert _count(city) == before + 50
    indices = {(x["statusList"], x["statusIndex"]) for x in accepted.json()["licenses"]}
    assert len(indices) == 50
    ordered = [x["statusIndex"] for x in accepted.json()["licenses"]]
    assert ordered != sorted(ordered)  # random, not in issue order


def test_a_job_reports_progress_and_outcome(city: City) -> None:
    client = city.client("issuer")
    items = [license_body("CN-FBL") for _ in range(2500)]
    submitted = client.post("/v1/license-jobs", json={"items": items})
    assert submitted.status_code == 202, submitted.text
    job_id = submitted.json()["id"]
    seen = city.wait(lambda: (lambda j: j if j["status"] in ("succeeded", "failed") else None)(
        client.get(f"/v1/license-jobs/{job_id}").json()), 120, "the job")
    assert seen["status"] == "succeeded", seen
    assert seen["done"] == seen["total"] == 2500
    bad = [license_body("CN-FBL") for _ in range(1500)]
    bad[1200] = {**bad[1200], "subject": {**bad[1200]["subject"], "operatorCategory": "NOPE"}}
    failed_id = client.post("/v1/license-jobs", json={"items": bad}).json()["id"]
    failed = city.wait(lambda: (lambda j: j if j["status"] in ("succeeded", "failed") else None)(
        client.get(f"/v1/license-jobs/{failed_id}").json()), 120, "the failing job")
    assert failed["status"] == "failed" and failed["done"] == 0
    assert failed["error"]["field"].startswith("items[1200].")
    other = city.client("verifier").get(f"/v1/license-jobs/{job_id}")
    assert other.status_code == 404


def test_renewal_supersedes_the_old_credential(city: City) -> None:
    client = city.client("issuer")
    old = client.post("/v1/licenses", json=license_body("CN-BL")).json()
    renewed = client.post(f"/v1/licenses/{old['id']}/renew", json={
        "reason": "annual renewal", "validUntil": int(time.time()) + 2 * 365 * 86400})
    assert renewed.status_code == 201, renewed.text
    new = renewed.json()
    assert new["licenseNumber"] == old["licenseNumber"] and new["version"] == 2
    city.settle()
    assert client.post("/v1/verify", json={"cityCode": old["cityCode"]}).json()["reasons"] == [
        "revoked"]
    assert client.post("/v1/verify", json={"cityCode": new["cityCode"]}).json()["verdict"] == "valid"
    described = client.get(f"/v1/licenses/{old['id']}").json()
    assert described["state"] == "SUPERSEDED" and described["supersededBy"] == new["id"]
    twice = client.post(f"/v1/licenses/{old['id']}/renew", json={
        "reason": "again", "validUntil": int(time.time()) + 86400})
    assert twice.status_code == 409


def test_personal_identifiers_stay_encrypted_and_off_codes(city: City) -> None:
    raw = "11010519491231002X"
    issued = city.client("issuer").post("/v1/licenses", json=license_body("CN-PQC")).json()
    assert raw not in json.dumps(issued, ensure_ascii=False)
    claims = decode_city_code(issued["cityCode"]).claims
    assert raw not in repr(claims) and "李四" not in repr(claims)
    with city.platform.engine.connect() as conn:
        row = conn.execute(select(licenses).where(licenses.c.id == issued["id"])).one()
    assert raw.encode() not in bytes(row.holder_id_enc)
    assert raw not in row.credential and raw not in row.city_code
    assert city.platform.cipher.decrypt(bytes(row.holder_id_enc)) == raw


def test_offline_cli_verifies_against_a_downloaded_bundle(city: City, tmp_path: Path) -> None:
    client = city.client("issuer")
    issued = client.post("/v1/licenses", json=license_body("CN-BL")).json()
    city.settle()
    bundle = tmp_path / "bundle.json"
    bundle.write_text(client.get("/v1/trust-bundle").text)
    key = city.platform.bundles.platform_public_key().hex()
    args = ["verify", issued["cityCode"], "--offline", "--bundle", str(bundle),
            "--platform-key", key, "--department", ISSUER]
    ok = CliRunner().invoke(cli, args)
    assert ok.exit_code == 0, ok.output
    assert "VALID" in ok.output and "trust data age" in ok.output
    client.post(f"/v1/licenses/{issued['id']}/revoke", json={"reason": "test"})
    city.settle()
    bundle.write_text(client.get("/v1/trust-bundle").text)
    revoked = CliRunner().invoke(cli, [*args, "--json"])
    assert revoked.exit_code == 1, revoked.output
    assert json.loads(revoked.output)["reasons"] == ["revoked"]
