"""The `citychain` command as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.node_process import dev_node, free_port

pytestmark = pytest.mark.timeout(180)


def _wait_for(url: str, process: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stdout.read() if process.stdout else ""
        try:
            httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}, timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise TimeoutError(url)


def _head(url: str) -> int:
    reply = httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}, timeout=5)
    return int(reply.json()["result"], 16)


def test_up_prints_endpoints_and_dev_accounts_and_resumes(tmp_path: Path) -> None:
    http_port, ws_port = free_port(), free_port()
    command = [sys.executable, "-m", "chain.cli", "up", "--dir", str(tmp_path),
               "--http-port", str(http_port), "--ws-port", str(ws_port), "--api-port", "0"]
    url = f"http://127.0.0.1:{http_port}"
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(url, first)
        time.sleep(1.5)
        head_before = _head(url)
    finally:
        first.send_signal(signal.SIGINT)
        output, _ = first.communicate(timeout=20)
    assert first.returncode == 0, output
    assert f"HTTP JSON-RPC: {url}" in output
    assert f"WebSocket JSON-RPC: ws://127.0.0.1:{ws_port}" in output
    assert "DEV ONLY" in output and "city-admin" in output and "key: 0x" in output
    assert head_before >= 1
    second = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        _wait_for(url, second)
        assert _head(url) >= head_before  # same chain, resumed
    finally:
        second.send_signal(signal.SIGTERM)
        second.communicate(timeout=20)


@pytest.mark.slow
def test_up_serves_the_trust_api_where_the_dev_department_issues(tmp_path: Path) -> None:
    """The README's main job: chain + API; the dev department issues and the code verifies."""
    from chain.devnet import DEV_ACCOUNTS
    from tests.trust_api.samples import license_body
    from trust_api.client import TrustApiClient

    http_port, ws_port, api_port = free_port(), free_port(), free_port()
    command = [sys.executable, "-m", "chain.cli", "up", "--dir", str(tmp_path),
               "--http-port", str(http_port), "--ws-port", str(ws_port),
               "--api-port", str(api_port)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    api = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            assert process.poll() is None
            try:
                if httpx.get(f"{api}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        department = next(a.private_key for a in DEV_ACCOUNTS if a.label == "department")
        client = TrustApiClient(api, department)
        issued = client.post("/v1/licenses", json=license_body("CN-DL"))
        assert issued.status_code == 201, issued.text
        code = issued.json()["cityCode"]
        verdict: dict = {}
        while time.monotonic() < deadline:
            verdict = client.post("/v1/verify", json={"cityCode": code}).json()
            if verdict["verdict"] == "valid":
                break
            assert verdict["reasons"] in (["anchor_pending"], ["status_unavailable"] * 2), verdict
            time.sleep(0.5)
        assert verdict["verdict"] == "valid", verdict
    finally:
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert f"Trust API: {api}" in output


def test_a_second_node_on_the_same_data_dir_is_refused(tmp_path: Path) -> None:
    node = dev_node(tmp_path)
    node.start()
    try:
        clash = subprocess.run(
            [sys.executable, "-m", "chain.cli", "node", "start", "--config", str(tmp_path / "node.toml")],
            capture_output=True, text=True, timeout=60, env=dict(os.environ),
        )
        assert clash.returncode != 0
        assert "in use by another citychain node" in clash.stderr
    finally:
        node.stop()


def test_bad_config_gives_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "node.toml").write_text("[node]\ndata_dir = 'd'\n")
    result = subprocess.run(
        [sys.executable, "-m", "chain.cli", "node", "start", "--config", str(tmp_path / "node.toml")],
        capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0 and "node.genesis: missing" in result.stderr
