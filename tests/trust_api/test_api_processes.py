"""Several API processes on one port (``citychain api serve --processes N``).

Without a chain: the settings that split the work between processes (only the first runs
the background workers; every one refreshes its trust snapshot), and which logs read their
Merkle nodes through the node cache. With a dev node (slow): two processes behind one
port answer verifications alike, replay protection holds across them, and they stop
together — also when the first one is killed with SIGKILL.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import insert, select

from tests.e2e.node_process import dev_node, free_port
from tests.trust_api.harness import ISSUER, KEYS
from tests.trust_api.samples import license_body
from trust_api.auth import new_nonce, sign_request
from trust_api.client import TrustApiClient
from trust_api.dev_bootstrap import bootstrap_department
from trust_api.platform import Platform
from trust_api.settings import Settings
from trust_api.tables import jobs


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": f"sqlite:///{tmp_path / 'trust.db'}",
        "rpc_url": "http://127.0.0.1:9",  # nothing listens: no worker here needs the chain
        "pii_key": secrets.token_hex(32), "token_secret": secrets.token_hex(32),
        "platform_key": secrets.token_hex(32), "operator_key": KEYS["service-module"].hex(),
        "refresh_interval": 30.0, **overrides}
    return Settings(**values)  # type: ignore[arg-type]


def test_without_background_workers_only_the_refresher_runs(tmp_path: Path) -> None:
    platform = Platform(_settings(tmp_path, background_workers=False))
    try:
        platform.start_workers()
        assert [t.name for t in platform._threads] == ["trust-refresh"]
    finally:
        platform.stop(timeout=5)


def test_the_first_process_runs_every_worker(tmp_path: Path) -> None:
    platform = Platform(_settings(tmp_path))
    try:
        platform.start_workers()
        assert [t.name for t in platform._threads] == [
            "trust-refresh", "log-checkpoint", "status-publish", "chain-writer", "anchoring"]
    finally:
        platform.stop(timeout=5)


def test_only_the_first_process_fails_interrupted_jobs(tmp_path: Path) -> None:
    first = Platform(_settings(tmp_path))
    with first.engine.begin() as conn:
        conn.execute(insert(jobs).values(id="j1", department=ISSUER, status="running", total=1,
                                         done=0, created_at=1, created_by=bytes(20)))
    first.stop(timeout=5)

    def status() -> str:
        with other.engine.connect() as conn:
            return str(conn.execute(select(jobs.c.status).where(jobs.c.id == "j1")).scalar())

    # Another process starting beside a running one must not touch its jobs.
    other = Platform(_settings(tmp_path, background_workers=False))
    assert status() == "running"
    other.stop(timeout=5)
    other = Platform(_settings(tmp_path))  # the first process, restarted
    assert status() == "failed"
    other.stop(timeout=5)


def test_license_logs_read_through_the_node_cache_and_audited_logs_do_not(
        tmp_path: Path) -> None:
    platform = Platform(_settings(tmp_path))
    try:
        logs = platform.logs
        assert logs.of(ISSUER).store.cache is logs.node_cache
        for name in ("traces", "exchanges", "credit", "consents"):
            assert logs.named(name).store.cache is None
        # However a license log is first opened (the checkpointer opens logs by origin).
        assert logs._open(logs.origin("91110000600037341L")).store.cache is logs.node_cache
    finally:
        platform.stop(timeout=5)


# ---- end to end: two processes on one port --------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def _listening_on(port: int) -> set[int]:
    """The processes with a listening TCP socket on ``port`` (Linux /proc)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "0A":  # LISTEN
                inodes.add(fields[9])
    owners = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                links = [os.readlink(fd) for fd in (entry / "fd").iterdir()]
            except OSError:
                continue
            if any(link[8:-1] in inodes for link in links if link.startswith("socket:[")):
                owners.add(int(entry.name))
    return owners


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _wait(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(what)


def _serve(env: dict[str, str], port: int, processes: int) -> subprocess.Popen[str]:
    api = subprocess.Popen(
        [sys.executable, "-m", "chain.cli", "api", "serve", "--port", str(port),
         "--processes", str(processes)],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def ready() -> bool:
        assert api.poll() is None, api.stdout.read() if api.stdout else ""
        try:
            return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    _wait(ready, 60, "the API to start")
    return api


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_processes_share_the_port_and_stop_together(tmp_path: Path) -> None:
    node = dev_node(tmp_path / "node")
    node.start()
    port = free_port()
    env = {"DATABASE_URL": f"sqlite:///{tmp_path / 'trust.db'}",
           "CITYCHAIN_RPC_URL": node.http_url,
           "CITYCHAIN_PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
           "CITYCHAIN_PII_KEY": secrets.token_hex(32),
           "CITYCHAIN_TOKEN_SECRET": secrets.token_hex(32),
           "CITYCHAIN_PLATFORM_KEY": secrets.token_hex(32),
           "CITYCHAIN_OPERATOR_KEY": KEYS["service-module"].hex(),
           "CITYCHAIN_REFRESH_INTERVAL": "0.2", "CITYCHAIN_CHECKPOINT_INTERVAL": "0.2",
           "CITYCHAIN_PUBLISH_INTERVAL": "0.2"}
    settings = Settings(**{k.removeprefix("CITYCHAIN_").lower(): v for k, v in env.items()})
    platform = Platform(settings)
    api: subprocess.Popen[str] | None = None
    try:
        bootstrap_department(platform, ISSUER, KEYS["department"], [KEYS["city-admin"]],
                             ["CN-BL"])
        api = _serve(env, port, 2)
        children = _children(api.pid)
        assert len(children) == 1, children
        url = f"http://127.0.0.1:{port}"
        with TrustApiClient(url, KEYS["department"]) as client:
            reply = client.post("/v1/licenses", json=license_body("CN-BL"))
            assert reply.status_code == 201, reply.text
            code = reply.json()["cityCode"]

        # Anchored by the first process's workers; seen by both processes' snapshots.
        def verdicts() -> set[str]:
            found = set()
            for _ in range(12):  # new connections: the kernel spreads them over both
                with TrustApiClient(url, KEYS["department"]) as fresh:
                    reply = fresh.post("/v1/verify", json={"cityCode": code})
                assert reply.status_code == 200, reply.text
                found.add(reply.json()["verdict"])
            return found

        # Both listen on the port, each with its own socket: the kernel spreads connections.
        assert _listening_on(port) == {api.pid, *children}
        _wait(lambda: verdicts() == {"valid"}, 90, "every process to verify the license")
        for _ in range(3):
            assert verdicts() == {"valid"}

        # A signed request replayed on another connection is refused: nonces are shared.
        body = b'{"cityCode": "CC1:X"}'
        headers = sign_request(KEYS["department"], "POST", "/v1/verify", None, body,
                               int(time.time()), new_nonce())
        headers["Content-Type"] = "application/json"
        statuses = []
        for _ in range(6):
            with httpx.Client() as http:
                statuses.append(http.post(f"{url}/v1/verify", content=body,
                                          headers=headers).status_code)
        assert statuses[0] == 200 and set(statuses[1:]) == {401}, statuses

        # SIGTERM of the first process stops both.
        api.send_signal(signal.SIGTERM)
        assert api.wait(30) == 0
        _wait(lambda: not any(_alive(pid) for pid in children), 20, "the second to stop")

        # kill -9 of the first process: the second notices and stops by itself.
        api = _serve(env, port, 2)
        children = _children(api.pid)
        assert len(children) == 1
        api.kill()
        api.wait(10)
        _wait(lambda: not any(_alive(pid) for pid in children), 20,
              "the orphaned process to stop")
        api = None
    finally:
        if api is not None and api.poll() is None:
            api.send_signal(signal.SIGTERM)
            try:
                api.wait(30)
            except subprocess.TimeoutExpired:
                api.kill()
        platform.stop(timeout=70)
        node.stop()
