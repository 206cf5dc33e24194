"""E-license issuance and verification rates, next to raw Ed25519 and SHA-256.

    python -m bench.licenses [--licenses 10000] [--batch 1000] [--http-batch 2500]
                             [--seconds 10] [--clients 4,12] [--api-processes 2]
                             [--database-url URL] [--quick]

On a real dev node (a ``chain.cli node start`` subprocess) and a SQLite database in a
temporary folder (``--database-url postgresql://…``: a fresh schema there, dropped at
the end), measures in one run:

1. raw PyNaCl Ed25519 signatures/s and verifications/s (400-byte messages), and raw
   ``hashlib`` SHA-256 of an issued credential's JCS form (~1.9 KB)/s;
2. issuance through the domain service (``IssuanceService.issue`` in this process, in
   batches): validate, sign the credential (Data Integrity) and the COSE city code,
   encrypt the holder id, allocate status entries, append to the department's log and
   store — one transaction per batch. Two signatures per license, so the raw limit is
   raw signatures/s ÷ 2;
3. issuance through ``POST /v1/licenses/batch`` over HTTP, with a bearer token, against
   the API served by ``citychain api serve --processes 2`` in its OWN processes (two
   uvicorn servers on one port with SO_REUSEPORT; the first runs the platform's
   background workers, as deployed, the second only its trust-snapshot refresher);
   API CPU is summed over both;
4. offline verification of city codes with ``OfflineVerifier`` (the bundle fetched from
   ``GET /v1/trust-bundle``) next to raw Ed25519 verification;
5. online ``POST /v1/verify`` of city codes by concurrent client threads in this process
   (bearer tokens) against the same API processes, requests/s with p50/p99 latency and
   the API's CPU per request (all its processes); every verdict must be ``valid``
   (signature, status bits and the anchored inclusion proof all checked).

Each figure's raw limit is measured in slices interleaved with that figure's own work
(after every batch, between slices of 500 codes; for 5, just before and after), so the
two see the same load: the 2-core machines this runs on are shared and noisy.
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform as platform_info
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import nacl.signing
from sqlalchemy import func, select, text

from anchoring.store_sql import logs, make_engine, outbox
from chain.devnet import DEV_ACCOUNTS, DEV_DEPARTMENT, write_dev_network
from license_registry.jcs import canonicalize
from license_registry.trust_bundle import OfflineVerifier
from trust_api.client import TrustApiClient
from trust_api.dev_bootstrap import bootstrap_department
from trust_api.issuance import IssueRequest
from trust_api.platform import Platform
from trust_api.settings import Settings
from trust_api.tables import chain_outbox, status_lists

KEYS = {a.label: a.private_key for a in DEV_ACCOUNTS}
ISSUER = DEV_DEPARTMENT.usci
TYPES = ("CN-BL", "CN-FBL", "CN-PQC")
# Valid sample subjects (the catalogue's rules), one per accredited type.
SUBJECTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "CN-BL": ("USCI", "91110000600037341L", {
        "enterpriseName": "武汉光谷数据科技有限公司", "legalRepresentative": "张三",
        "registeredCapital": "1000万元", "businessScope": "数据处理和存储服务",
        "address": "武汉市东湖新技术开发区高新大道1号"}),
    "CN-FBL": ("USCI", "91110000600037341L", {
        "enterpriseName": "江城餐饮管理有限公司", "operatorCategory": "CATERING",
        "businessScope": "热食类食品制售", "premises": "武汉市江汉区解放大道2号"}),
    "CN-PQC": ("CITIZEN_ID", "11010519491231002X", {
        "holderName": "李四", "qualification": "高级工程师", "specialty": "土木工程",
        "level": "SENIOR"}),
}


# ---- raw limits -------------------------------------------------------------------------


def _timed_rate(count: int, work: Callable[[], None]) -> float:
    started = time.perf_counter()
    work()
    return count / (time.perf_counter() - started)


def raw_crypto(count: int, credential: bytes) -> dict[str, float]:
    """Ed25519 sign and verify of a COSE-sized message, SHA-256 of a credential."""
    key = nacl.signing.SigningKey(secrets.token_bytes(32))
    verify_key = key.verify_key
    messages = [secrets.token_bytes(400) for _ in range(count)]
    signatures: list[bytes] = []

    def sign() -> None:
        signatures.extend(key.sign(m).signature for m in messages)

    def verify() -> None:
        for m, s in zip(messages, signatures, strict=True):
            verify_key.verify(m, s)

    hashes = count * 20

    def digest() -> None:
        sha256 = hashlib.sha256
        for _ in range(hashes):
            sha256(credential).digest()

    return {"raw_sign_per_s": _timed_rate(count, sign),
            "raw_verify_per_s": _timed_rate(count, verify),
            "raw_sha256_per_s": _timed_rate(hashes, digest),
            "credential_bytes": len(credential)}


class RawMeter:
    """Raw Ed25519 measured in slices interleaved with a figure's own work, so that the
    figure and its limit see the same load (this 2-core machine is shared and noisy)."""

    def __init__(self) -> None:
        self.key = nacl.signing.SigningKey(secrets.token_bytes(32))
        self.verify_key = self.key.verify_key
        self.messages = [secrets.token_bytes(400) for _ in range(256)]
        self.signatures = [self.key.sign(m).signature for m in self.messages]
        self.seconds = {"sign": 0.0, "verify": 0.0}
        self.cpu = {"sign": 0.0, "verify": 0.0}
        self.counts = {"sign": 0, "verify": 0}

    def sign(self, count: int) -> None:
        key, messages = self.key, self.messages
        started, cpu_started = time.perf_counter(), cpu_seconds()
        for i in range(count):
            key.sign(messages[i & 255])
        self._add("sign", count, started, cpu_started)

    def verify(self, count: int) -> None:
        verify_key, messages, signatures = self.verify_key, self.messages, self.signatures
        started, cpu_started = time.perf_counter(), cpu_seconds()
        for i in range(count):
            verify_key.verify(messages[i & 255], signatures[i & 255])
        self._add("verify", count, started, cpu_started)

    def _add(self, what: str, count: int, started: float, cpu_started: float) -> None:
        self.seconds[what] += time.perf_counter() - started
        self.cpu[what] += cpu_seconds() - cpu_started
        self.counts[what] += count

    def rate(self, what: str) -> float:
        return self.counts[what] / self.seconds[what]

    def cpu_rate(self, what: str) -> float:
        return self.counts[what] / self.cpu[what]


# ---- processes ----------------------------------------------------------------------------


def cpu_seconds(pid: int | None = None) -> float:
    """User + system CPU seconds of a process (this one if None; Linux /proc for others):
    a figure per CPU-second holds however busy the shared machine is."""
    if pid is None:
        return time.process_time()
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class _Process:
    """A child process logging to a file, stopped with SIGTERM (then SIGKILL)."""

    def __init__(self, argv: list[str], log_path: Path, env: dict[str, str] | None = None) -> None:
        self.log_path = log_path
        log = open(log_path, "ab")  # noqa: SIM115 - the child owns it
        self.process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT,
                                        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})})
        log.close()

    def wait_until(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{what} exited with {self.process.returncode}:\n{self.log()}")
            try:
                if ready():
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{what} was not ready within {timeout}s:\n{self.log()}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:] if self.log_path.exists() else ""


def start_node(folder: Path) -> tuple[_Process, str]:
    http_port, ws_port = _free_port(), _free_port()
    write_dev_network(folder, http_port=http_port, ws_port=ws_port)
    url = f"http://127.0.0.1:{http_port}"
    node = _Process([sys.executable, "-m", "chain.cli", "node", "start", "--config",
                     str(folder / "node.toml")], folder / "node.log")
    body = {"jsonrpc": "2.0", "id": 1, "method": "eth_blockNumber"}
    node.wait_until(lambda: httpx.post(url, json=body, timeout=1).status_code == 200, 30, "the node")
    return node, url


def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and of its live descendants (``api serve --processes``)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text()
                                               .rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue  # exited meanwhile
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier]
        tree.extend(frontier)
    total = 0.0
    for member in tree:
        with suppress(OSError, ValueError, IndexError):
            total += cpu_seconds(member)
    return total


def start_api(values: dict[str, str], port: int, log_path: Path, processes: int = 1
              ) -> _Process:
    """``citychain api serve`` in its own process(es), configured from the environment."""
    env = {("DATABASE_URL" if name == "database_url" else f"CITYCHAIN_{name.upper()}"): value
           for name, value in values.items()}
    api = _Process([sys.executable, "-m", "chain.cli", "api", "serve", "--host", "127.0.0.1",
                    "--port", str(port), "--processes", str(processes)], log_path, env)
    url = f"http://127.0.0.1:{port}/readyz"
    api.wait_until(lambda: httpx.get(url, timeout=1).status_code == 200, 60, "the trust API")
    return api


@contextmanager
def database(url: str | None, folder: Path) -> Iterator[str]:
    """A SQLite file in ``folder``, or a fresh schema in the PostgreSQL database at ``url``."""
    if url is None:
        yield f"sqlite:///{folder / 'trust.db'}"
        return
    schema = f"bench_licenses_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


# ---- workload -----------------------------------------------------------------------------


def license_bodies(count: int, prefix: str) -> list[dict[str, Any]]:
    now = int(time.time())
    bodies = []
    for i in range(count):
        license_type = TYPES[i % len(TYPES)]
        id_type, holder, subject = SUBJECTS[license_type]
        bodies.append({"licenseType": license_type, "licenseNumber": f"{prefix}-{i:07d}",
                       "holder": {"idType": id_type, "id": holder}, "subject": dict(subject),
                       "validFrom": now - 60, "validUntil": now + 365 * 86400})
    return bodies


def to_request(body: dict[str, Any]) -> IssueRequest:
    return IssueRequest(body["licenseType"], body["licenseNumber"], body["holder"]["idType"],
                        body["holder"]["id"], body["subject"], body["validFrom"],
                        body["validUntil"])


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i: i + size]


def issue_in_process(platform: Platform, count: int, batch: int, prefix: str, raw: RawMeter
                     ) -> tuple[float, float, list[str]]:
    """licenses/s through IssuanceService.issue, licenses per CPU-second, and the city
    codes. After each batch,
    raw signing of as many signatures as the batch made (2 per license)."""
    actor = next(a.address for a in DEV_ACCOUNTS if a.label == "department")
    requests = [to_request(b) for b in license_bodies(count, prefix)]
    codes: list[str] = []
    seconds = cpu = 0.0
    for chunk in _chunks(requests, batch):
        started, cpu_started = time.perf_counter(), cpu_seconds()
        issued = platform.issuance.issue(ISSUER, actor, chunk, int(time.time()))
        seconds += time.perf_counter() - started
        cpu += cpu_seconds() - cpu_started
        codes.extend(i.city_code for i in issued)
        raw.sign(2 * len(chunk))
    return count / seconds, count / cpu, codes


def issue_over_http(client: TrustApiClient, count: int, batch: int, prefix: str, raw: RawMeter
                    ) -> tuple[float, list[str], list[float]]:
    reply = client.post("/v1/licenses/batch", json={"items": license_bodies(20, prefix + "w")})
    assert reply.status_code == 201, reply.text
    bodies = license_bodies(count, prefix)
    codes: list[str] = []
    per_batch: list[float] = []
    for chunk in _chunks(bodies, batch):
        started = time.perf_counter()
        reply = client.post("/v1/licenses/batch", json={"items": chunk})
        per_batch.append(time.perf_counter() - started)
        assert reply.status_code == 201, reply.text[:2000]
        codes.extend(item["cityCode"] for item in reply.json()["licenses"])
        raw.sign(2 * len(chunk))
    return count / sum(per_batch), codes, per_batch


def _idle(engine: Any, host: str) -> bool:
    """Every status list published, chain write sent, log checkpointed and anchored."""
    with engine.connect() as conn:
        changed = conn.execute(select(func.count()).select_from(status_lists)
                               .where(status_lists.c.changed.is_(True))).scalar()
        writes = conn.execute(select(func.count()).select_from(chain_outbox)
                              .where(chain_outbox.c.status == "pending")).scalar()
        anchors = conn.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.status == "pending")).scalar()
        sizes = {r.origin: r.size for r in conn.execute(select(logs.c.origin, logs.c.size))}
        checkpointed = {r.origin: r.size for r in conn.execute(
            select(outbox.c.origin, func.max(outbox.c.size).label("size")).group_by(outbox.c.origin))}
    grown = any(size > checkpointed.get(origin, 0) for origin, size in sizes.items()
                if origin.startswith(host + "/licenses/"))
    return not (changed or writes or anchors or grown)


def _wait(predicate: Callable[[], object], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise TimeoutError(f"timed out waiting for {what}")


def _fresh_probe(api_url: str, code: str) -> bool:
    """One verification on a new connection (a signed request)."""
    with TrustApiClient(api_url, KEYS["department"], timeout=30) as fresh:
        reply = fresh.post("/v1/verify", json={"cityCode": code})
    return reply.status_code == 200 and reply.json()["verdict"] == "valid"


def verify_offline(verifier: OfflineVerifier, codes: list[str], seconds: float, raw: RawMeter
                   ) -> tuple[float, int]:
    """Codes verified per second for about ``seconds``, in slices of 500 alternating with
    500 raw verifications; how many verdicts were not valid."""
    now = int(time.time())
    done = invalid = 0
    spent = 0.0
    while spent < seconds:
        started = time.perf_counter()
        for _ in range(500):
            if not verifier.verify(codes[done % len(codes)], now, ISSUER).valid:
                invalid += 1
            done += 1
        spent += time.perf_counter() - started
        raw.verify(500)
    return done / spent, invalid


def verify_online(api_url: str, codes: list[str], seconds: float, clients: int
                  ) -> dict[str, float]:
    latencies: list[list[float]] = [[] for _ in range(clients)]
    invalid = [0] * clients
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    go = threading.Event()
    stop_at = [0.0]

    def worker(n: int) -> None:
        rng = random.Random(n)
        try:
            with TrustApiClient(api_url, KEYS["department"], timeout=30) as client:
                client.use_token()
                for code in rng.sample(codes, min(20, len(codes))):  # warm-up, not counted
                    client.post("/v1/verify", json={"cityCode": code})
                ready.wait()
                go.wait()
                mine = latencies[n]
                while time.perf_counter() < stop_at[0]:
                    code = codes[rng.randrange(len(codes))]
                    t0 = time.perf_counter()
                    reply = client.post("/v1/verify", json={"cityCode": code})
                    mine.append(time.perf_counter() - t0)
                    if reply.status_code != 200 or reply.json()["verdict"] != "valid":
                        invalid[n] += 1
                        if len(errors) < 3:
                            errors.append(reply.text[:1500])
        except Exception as exc:  # report, and do not leave the barrier hanging
            errors.append(repr(exc))
            ready.abort()
            raise

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    stop_at[0] = started + seconds
    go.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(x for per_client in latencies for x in per_client)
    if errors:
        print(f"verify errors (first {len(errors)}): {errors}", file=sys.stderr)
    return {"verify_per_s": len(every) / elapsed,
            "p50_ms": statistics.median(every) * 1000,
            "p99_ms": every[min(len(every) - 1, int(len(every) * 0.99))] * 1000,
            "requests": len(every), "not_valid": sum(invalid), "clients": clients}


# ---- main ---------------------------------------------------------------------------------


def _goal(value: float, goal: float) -> str:
    return f"goal ≥ {goal:g}: {'met' if value >= goal else 'MISSED'}"


def measure(args: argparse.Namespace, results: dict[str, Any], folder: Path, rpc_url: str,
            db_url: str) -> None:
    prefix = f"B{uuid.uuid4().hex[:8]}"
    api: _Process | None = None
    platform: Platform | None = None
    try:
        port = _free_port()
        values = {"database_url": db_url, "rpc_url": rpc_url,
                  "public_base_url": f"http://127.0.0.1:{port}",
                  "pii_key": secrets.token_hex(32), "token_secret": secrets.token_hex(32),
                  "platform_key": secrets.token_hex(32),
                  "operator_key": KEYS["service-module"].hex()}
        platform = Platform(Settings(**values))  # type: ignore[arg-type]
        bootstrap_department(platform, ISSUER, KEYS["department"], [KEYS["city-admin"]], TYPES)
        actor = next(a.address for a in DEV_ACCOUNTS if a.label == "department")
        warm = platform.issuance.issue(ISSUER, actor, [to_request(b) for b in
                                                       license_bodies(20, prefix + "w")],
                                       int(time.time()))

        # 1. raw limits (the node idles in the background, as it does below)
        raw = raw_crypto(args.raw, canonicalize(warm[0].credential))
        results["raw"] = {k: round(v, 1) for k, v in raw.items()}
        print(f"raw Ed25519 sign   {raw['raw_sign_per_s']:10,.0f} /s   (PyNaCl, 400-byte messages)")
        print(f"raw Ed25519 verify {raw['raw_verify_per_s']:10,.0f} /s")
        print(f"raw SHA-256        {raw['raw_sha256_per_s']:10,.0f} /s   (a "
              f"{raw['credential_bytes']:.0f}-byte credential, its JCS form)")

        # 2. the domain service, in this process (no API, no workers yet)
        meter = RawMeter()
        domain_rate, domain_cpu_rate, domain_codes = issue_in_process(
            platform, args.licenses, args.batch, prefix + "d", meter)
        limit, cpu_limit = meter.rate("sign") / 2, meter.cpu_rate("sign") / 2
        results["domain_issue"] = {
            "per_s": round(domain_rate, 1), "raw_limit_per_s": round(limit, 1),
            "ratio": round(domain_rate / limit, 3), "per_cpu_s": round(domain_cpu_rate, 1),
            "raw_limit_per_cpu_s": round(cpu_limit, 1)}
        print(f"issue, IssuanceService.issue ({args.batch}/batch) {domain_rate:,.0f} licenses/s | "
              f"raw limit {limit:,.0f}/s (raw signatures/s ÷ 2, interleaved) | "
              f"{domain_rate / limit:.3f}x | per CPU-second: {domain_cpu_rate:,.0f}")

        # 3. the batch endpoint over HTTP, API in its own process
        api = start_api(values, port, folder / "api.log", args.api_processes)
        results["api_processes"] = args.api_processes
        api_url = f"http://127.0.0.1:{port}"
        with TrustApiClient(api_url, KEYS["department"], timeout=300) as client:
            client.use_token()
            meter = RawMeter()
            api_cpu = tree_cpu_seconds(api.process.pid)
            http_rate, http_codes, per_batch = issue_over_http(
                client, args.licenses, args.http_batch, prefix + "h", meter)
            api_cpu = tree_cpu_seconds(api.process.pid) - api_cpu
            limit = meter.rate("sign") / 2
            # The API processes' CPU also covers the first one's workers (status lists,
            # checkpoints, chain writes) catching up with the new licenses during the
            # phase, and every process re-reading its trust snapshot as they publish.
            per_api_cpu = (args.licenses + 20) / api_cpu
            results["http_issue"] = {
                "per_s": round(http_rate, 1), "raw_limit_per_s": round(limit, 1),
                "ratio": round(http_rate / limit, 3),
                "batch_p50_s": round(statistics.median(per_batch), 3),
                "per_api_cpu_s": round(per_api_cpu, 1), "goal_per_s": 2000,
                "met": http_rate >= 2000}
            print(f"issue, POST /v1/licenses/batch ({args.http_batch}/request) "
                  f"{http_rate:,.0f} licenses/s | raw limit {limit:,.0f}/s | "
                  f"{http_rate / limit:.3f}x | per API CPU-second: {per_api_cpu:,.0f} | "
                  f"{_goal(http_rate, 2000)}")

            # Wait for the API's workers: status lists published, logs checkpointed and
            # anchored, and the API's trust snapshot showing the anchors.
            codes = domain_codes + http_codes
            _wait(lambda: _idle(platform.engine, platform.logs.host), 120,
                  "the API's workers to settle")
            probe = [codes[0], codes[len(domain_codes) - 1], codes[-1]]
            _wait(lambda: all(client.post("/v1/verify", json={"cityCode": c})
                              .json()["verdict"] == "valid" for c in probe), 60,
                  "online verification of the newest codes to pass")
            # Each API process refreshes its own trust snapshot: probe the newest code on
            # new connections too, which the kernel spreads over the processes.
            _wait(lambda: all(_fresh_probe(api_url, codes[-1])
                              for _ in range(4 * args.api_processes)), 60,
                  "every API process to see the newest anchor")
            bundle = client.get("/v1/trust-bundle").json()

        # 4. offline verification
        verifier = OfflineVerifier(bundle, platform.bundles.platform_public_key())
        meter = RawMeter()
        offline_rate, offline_invalid = verify_offline(verifier, codes, args.seconds, meter)
        limit = meter.rate("verify")
        ratio = offline_rate / limit
        results["offline_verify"] = {
            "per_s": round(offline_rate, 1), "raw_limit_per_s": round(limit, 1),
            "ratio": round(ratio, 3), "not_valid": offline_invalid, "goal_ratio": 0.5,
            "met": ratio >= 0.5}
        print(f"verify offline, OfflineVerifier {offline_rate:,.0f} codes/s | raw verify "
              f"{limit:,.0f}/s (interleaved) | {ratio:.3f}x | {_goal(ratio, 0.5)}"
              + (f" | {offline_invalid} NOT VALID" if offline_invalid else ""))

        # 5. online verification, per number of client threads (raw verify measured just
        # before and just after each)
        results["online_verify"] = []
        for clients in args.clients:
            meter = RawMeter()
            meter.verify(args.raw // 2)
            api_cpu, own_cpu = tree_cpu_seconds(api.process.pid), cpu_seconds()
            online = verify_online(api_url, codes, args.seconds, clients)
            api_cpu, own_cpu = (tree_cpu_seconds(api.process.pid) - api_cpu,
                                cpu_seconds() - own_cpu)
            meter.verify(args.raw // 2)
            limit = meter.rate("verify")
            api_ms = api_cpu / online["requests"] * 1000
            results["online_verify"].append({
                **{k: round(v, 2) for k, v in online.items()},
                "raw_limit_per_s": round(limit, 1),
                "ratio": round(online["verify_per_s"] / limit, 4),
                "api_cpu_ms_per_request": round(api_ms, 3),
                "client_cpu_ms_per_request": round(own_cpu / online["requests"] * 1000, 3),
                "api_processes": args.api_processes,
                "goal_per_s": 500, "met": online["verify_per_s"] >= 500})
            print(f"verify online, POST /v1/verify ({clients} clients, "
                  f"{args.api_processes} API processes) "
                  f"{online['verify_per_s']:,.0f} req/s | p50 {online['p50_ms']:.1f} ms, "
                  f"p99 {online['p99_ms']:.1f} ms | raw verify {limit:,.0f}/s | "
                  f"{online['verify_per_s'] / limit:.4f}x | API CPU {api_ms:.2f} ms/request | "
                  f"{_goal(online['verify_per_s'], 500)}"
                  + (f" | {online['not_valid']} NOT VALID" if online["not_valid"] else ""))
    finally:
        if api is not None:
            api.stop()
        if platform is not None:
            platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--licenses", type=int, default=10_000,
                        help="licenses issued in each of the in-process and HTTP phases")
    parser.add_argument("--batch", type=int, default=1000, help="in-process batch size")
    parser.add_argument("--http-batch", type=int, default=2500,
                        help="items per POST /v1/licenses/batch (at most 5000)")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="duration of the offline and online verification phases")
    parser.add_argument("--clients", type=lambda text: [int(n) for n in text.split(",")],
                        default=[4, 12],
                        help="online verification client threads; a comma list runs each")
    parser.add_argument("--api-processes", type=int, default=2,
                        help="citychain api serve --processes (SO_REUSEPORT on one port)")
    parser.add_argument("--raw", type=int, default=20_000, help="raw Ed25519 operations")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (a fresh schema is created and dropped)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.licenses, args.batch, args.http_batch = 1000, 500, 500
        args.seconds, args.raw, args.clients = 2.0, 2000, [4]

    results: dict[str, Any] = {
        "benchmark": "licenses", "cpus": os.cpu_count(), "python": platform_info.python_version(),
        "database": "postgresql" if args.database_url else "sqlite", "licenses": args.licenses,
        "batch": args.batch, "http_batch": args.http_batch, "clients": args.clients,
        "api_processes": args.api_processes,
        "loadavg_1m_before": round(os.getloadavg()[0], 2)}

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        node, rpc_url = start_node(folder / "node")
        try:
            with database(args.database_url, folder) as db_url:
                measure(args, results, folder, rpc_url, db_url)
        finally:
            node.stop()
    results["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
