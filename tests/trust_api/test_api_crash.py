"""kill -9 of the trust API while it issues: every acknowledged license survives, a
job cut short leaves nothing half-issued, and after a restart the logs keep growing
consistently and every acknowledged license verifies (anchored)."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.node_process import dev_node, free_port
from tests.trust_api.harness import ISSUER, KEYS
from tests.trust_api.samples import license_body
from trust_api.client import TrustApiClient
from trust_api.dev_bootstrap import bootstrap_department
from trust_api.platform import Platform
from trust_api.settings import Settings

pytestmark = [pytest.mark.timeout(400), pytest.mark.slow]


def _start_api(env: dict[str, str], port: int) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "chain.cli", "api", "serve", "--port", str(port)],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError("the API did not become ready")


def test_acknowledged_licenses_survive_kill_9(tmp_path: Path) -> None:
    node = dev_node(tmp_path / "node")
    node.start()
    port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'trust.db'}", "CITYCHAIN_RPC_URL": node.http_url,
           "CITYCHAIN_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "CITYCHAIN_PII_KEY": secrets.token_hex(32),
           "CITYCHAIN_TOKEN_SECRET": secrets.token_hex(32),
           "CITYCHAIN_PLATFORM_KEY": secrets.token_hex(32),
           "CITYCHAIN_OPERATOR_KEY": KEYS["service-module"].hex()}
    settings = Settings(**{k.removeprefix("CITYCHAIN_").lower(): v for k, v in env.items()})
    platform = Platform(settings)
    bootstrap_department(platform, ISSUER, KEYS["department"], [KEYS["city-admin"]], ["CN-BL"])
    platform.stop()
    api = _start_api(env, port)
    client = TrustApiClient(f"http://127.0.0.1:{port}", KEYS["department"])
    acknowledged: list[dict] = []
    stop = threading.Event()

    def issue_forever() -> None:
        while not stop.is_set():
            try:
                reply = client.post("/v1/licenses/batch",
                                    json={"items": [license_body("CN-BL") for _ in range(20)]})
            except httpx.HTTPError:
                return  # the server died mid-request: that batch was not acknowledged
            if reply.status_code == 201:
                acknowledged.extend(reply.json()["licenses"])

    try:
        writer = threading.Thread(target=issue_forever)
        writer.start()
        time.sleep(3)
        # A large job holds SQLite's writer lock while it runs; it is killed mid-way.
        job = client.post("/v1/license-jobs",
                          json={"items": [license_body("CN-BL") for _ in range(20000)]}).json()
        time.sleep(2)
        api.send_signal(signal.SIGKILL)
        api.wait(timeout=10)
        stop.set()
        writer.join(timeout=30)
        assert len(acknowledged) >= 20
        api = _start_api(env, port)
        client = TrustApiClient(f"http://127.0.0.1:{port}", KEYS["department"])
        for item in acknowledged:
            got = client.get(f"/v1/licenses/{item['id']}")
            assert got.status_code == 200, got.text
            assert got.json()["cityCode"] == item["cityCode"]
        interrupted = client.get(f"/v1/license-jobs/{job['id']}").json()
        assert interrupted["status"] in ("failed", "succeeded"), interrupted
        if interrupted["status"] == "failed":
            assert interrupted["error"]["code"] == "interrupted" and interrupted["done"] == 0
        # Issuance goes on, and every acknowledged license ends up anchored.
        assert client.post("/v1/licenses", json=license_body("CN-BL")).status_code == 201
        last = acknowledged[-1]["cityCode"]
        deadline = time.monotonic() + 60
        verdict: dict = {}
        while time.monotonic() < deadline:
            verdict = client.post("/v1/verify", json={"cityCode": last}).json()
            if verdict["verdict"] == "valid":
                break
            time.sleep(0.5)
        assert verdict["verdict"] == "valid", verdict
        first = client.post("/v1/verify", json={"cityCode": acknowledged[0]["cityCode"]}).json()
        assert first["verdict"] == "valid", first
    finally:
        stop.set()
        if api.poll() is None:
            api.send_signal(signal.SIGTERM)
            api.communicate(timeout=30)
        node.stop()
