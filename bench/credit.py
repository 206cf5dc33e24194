"""Bank credit queries, regulatory traces and the regulator's audit, next to raw limits.

    python -m bench.credit [--queries 2000] [--traces 2000] [--seconds 10] [--clients 4]
                           [--entries 1000000] [--skip-audit] [--database-url URL] [--quick]

On a real dev node (a ``chain.cli node start`` subprocess) and a SQLite database in a
temporary folder (``--database-url postgresql://…``: a fresh schema there, dropped at the
end), with a city set up as the end-to-end tests do it — the dev department accredited
for business licenses and credit records, a bank department (BANK role), an enterprise
key, three credit records of the enterprise anchored on chain, consents of up to 1,000
uses each signed by the enterprise — measures in one run:

1. raw limits: PyNaCl Ed25519 signatures/s and verifications/s (400-byte messages), raw
   ``hashlib`` SHA-256 of an exchanges-log entry of a credit query (~640 bytes)/s, RFC 9162
   leaf hashing (``anchoring.merkle.leaf_hash``) of it/s, and fsynced write transactions
   of one such row/s on the same database (``raw commits``);
2. bank attestation queries through ``CreditService.query`` in this process, one thread:
   consent check (row locked, uses counted), three credit records with their inclusion
   proofs against the anchored checkpoint, the attestation signed, the access record
   hash-chained into the exchange log and appended to it — one committed transaction per
   query. Its raw limit is one signature plus one commit: 1 / (1/sign + 1/commit). Then
   ``POST /v1/credit-queries`` over HTTP with bearer tokens, against ``citychain api
   serve`` in its OWN process (one uvicorn worker, the platform's workers running, as
   deployed) from concurrent client threads here, requests/s with p50/p99;
3. trace appends (``AuditService.append_trace``: the subject's last event read, the event
   chained, appended to the traces log — one committed transaction each) in this process,
   then ``POST /v1/traces`` over HTTP; raw limit: raw commits/s;
4. the regulator's ``AuditService.verify`` of the exchanges and traces logs just written
   (rows re-encoded from the database, leaves, anchors read from the chain; time, and the
   tracemalloc peak of a second run), and
   ``bench.audit_log``: ``audit_log`` over a generated log of ``--entries`` credit-query
   entries (default 1,000,000) streamed as cursors would, a checkpoint anchored every
   10,000 entries, one row and one leaf edited (both must be found): time, tracemalloc
   peak and ru_maxrss of the auditing process, next to raw leaf hashing in that process.

In-process figures interleave their raw limit in slices with their own work (after every
100 operations), so both see the same load: the 2-core machines this runs on are shared
and noisy. HTTP figures measure theirs just before and just after. The last line is one
JSON object with every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import platform as platform_info
import secrets
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nacl.signing
from coincurve import PrivateKey
from sqlalchemy import Column, Integer, LargeBinary, MetaData, Table, func, insert, select

from anchoring.anchored_log import SqlOutbox, chain_log_id
from anchoring.chain_client import Web3AnchorChain
from anchoring.merkle import leaf_hash
from anchoring.store_sql import logs, make_engine, outbox, write_transaction
from anchoring.worker import anchor_pending
from bench import audit_log
from bench.licenses import _free_port, _Process, cpu_seconds, database, start_api, start_node
from chain.devnet import DEV_ACCOUNTS, DEV_DEPARTMENT
from credit_ledger.consent import MAX_USES, build_consent, sign_consent
from license_registry.identifiers import calculate_usci_check
from license_registry.jcs import canonicalize
from license_registry.keys import calculate_kid, generate_signing_key, public_key_of
from license_registry.trust import ROLE_BANK
from trust_api.auth import address_of
from trust_api.client import TrustApiClient
from trust_api.dev_bootstrap import ROLE_DEPARTMENT, bootstrap_department
from trust_api.platform import Platform
from trust_api.settings import Settings

KEYS = {a.label: a.private_key for a in DEV_ACCOUNTS}
ISSUER = DEV_DEPARTMENT.usci
ISSUER_ACCOUNT = next(a.address for a in DEV_ACCOUNTS if a.label == "department")
ISSUER_TYPES = ("CN-BL", "CR-PEN", "CR-RAT", "CR-TAX")  # CN-BL: it registers enterprise keys
BANK = "91310000MA1FL0000" + calculate_usci_check("91310000MA1FL0000")
ENTERPRISE = "91420100MA4K00000" + calculate_usci_check("91420100MA4K00000")
SCOPES = ["CR-PEN", "CR-RAT", "CR-TAX"]
RECORDS = {
    "CR-PEN": {"decisionNumber": "武市监罚〔2026〕12号", "violation": "未按规定公示年度报告",
               "legalBasis": "《企业信息公示暂行条例》第十八条", "penaltyKind": "FINE",
               "fineAmount": "5000.00", "decisionDate": "2026-03-01", "status": "OPEN"},
    "CR-RAT": {"grade": "A", "ratingAgency": "武汉信用评级中心", "ratingDate": "2026-01-15"},
    "CR-TAX": {"grade": "A", "assessmentYear": 2025, "taxAuthority": "国家税务总局武汉市税务局"},
}
USES_PER_CONSENT = MAX_USES - 50  # leave room: a consent is never used up mid-run
SLICE = 100  # operations between raw-limit slices


# ---- raw limits ---------------------------------------------------------------------------

_raw_rows = Table("bench_raw_commits", MetaData(),
                  Column("id", Integer, primary_key=True, autoincrement=True),
                  Column("entry", LargeBinary, nullable=False))


class Raw:
    """Raw operations timed in slices interleaved with a figure's own work, so the figure
    and its limit see the same load (this 2-core machine is shared and noisy)."""

    def __init__(self, db_url: str, entry: bytes) -> None:
        self.key = nacl.signing.SigningKey(secrets.token_bytes(32))
        self.verify_key = self.key.verify_key
        self.messages = [secrets.token_bytes(400) for _ in range(256)]
        self.signatures = [self.key.sign(m).signature for m in self.messages]
        self.entry = entry
        # The same database (and so the same disk, journal mode and fsync policy), a
        # table of its own; one write transaction of one entry-sized row per commit.
        self.engine = make_engine(db_url)
        _raw_rows.create(self.engine, checkfirst=True)
        self.seconds: dict[str, float] = {}
        self.counts: dict[str, int] = {}

    def _add(self, what: str, count: int, started: float) -> None:
        self.seconds[what] = self.seconds.get(what, 0.0) + time.perf_counter() - started
        self.counts[what] = self.counts.get(what, 0) + count

    def sign(self, count: int) -> None:
        key, messages = self.key, self.messages
        started = time.perf_counter()
        for i in range(count):
            key.sign(messages[i & 255])
        self._add("sign", count, started)

    def verify(self, count: int) -> None:
        verify_key, messages, signatures = self.verify_key, self.messages, self.signatures
        started = time.perf_counter()
        for i in range(count):
            verify_key.verify(messages[i & 255], signatures[i & 255])
        self._add("verify", count, started)

    def sha256(self, count: int) -> None:
        entry, sha256 = self.entry, hashlib.sha256
        started = time.perf_counter()
        for _ in range(count):
            sha256(entry).digest()
        self._add("sha256", count, started)

    def leaf(self, count: int) -> None:
        entry = self.entry
        started = time.perf_counter()
        for _ in range(count):
            leaf_hash(entry)
        self._add("leaf", count, started)

    def commit(self, count: int) -> None:
        started = time.perf_counter()
        for _ in range(count):
            with write_transaction(self.engine) as conn:
                conn.execute(insert(_raw_rows).values(entry=self.entry))
        self._add("commit", count, started)

    def reset(self) -> None:
        self.seconds, self.counts = {}, {}

    def rate(self, what: str) -> float:
        return self.counts[what] / self.seconds[what]

    def query_limit(self) -> float:
        """One signature and one commit per query, nothing else."""
        return 1 / (1 / self.rate("sign") + 1 / self.rate("commit"))

    def close(self) -> None:
        self.engine.dispose()


# ---- the city -----------------------------------------------------------------------------


class Consents:
    """Consents of the enterprise to the bank, registered up front; each handed out for
    at most ``USES_PER_CONSENT`` queries (threads share one pool)."""

    def __init__(self, platform: Platform, seed: bytes, method: str, uses: int) -> None:
        now = int(time.time())
        self.ids = []
        for _ in range(math.ceil(uses / USES_PER_CONSENT)):
            document = sign_consent(build_consent(
                consent_id=f"urn:uuid:{uuid.uuid4()}", grantor=ENTERPRISE, grantee=BANK,
                purpose="LOAN_APPLICATION", scopes=SCOPES, max_uses=MAX_USES,
                created=now - 120, valid_from=now - 60, valid_until=now + 30 * 86400),
                seed, method)
            self.ids.append(platform.credit.register_consent(document, now)["id"])
        self._next = itertools.count()
        self._lock = threading.Lock()

    def take(self) -> str | None:
        with self._lock:
            n = next(self._next)
        return self.ids[n // USES_PER_CONSENT] if n // USES_PER_CONSENT < len(self.ids) else None


def query_body(consent_id: str) -> dict[str, Any]:
    return {"consentId": consent_id, "subject": ENTERPRISE, "purpose": "LOAN_APPLICATION",
            "scopes": SCOPES}


def trace_body(n: int, prefix: str) -> dict[str, Any]:
    return {"subjectKind": "FOOD_LOT", "subjectId": f"LOT-{prefix}-{n % 1000:04d}",
            "eventType": "INSPECTED", "payloadHash": hashlib.sha256(b"%d" % n).hexdigest()}


def set_up_city(platform: Platform, bank_key: bytes) -> tuple[bytes, str]:
    """Departments, the enterprise's key, its records, anchored; (enterprise seed, method)."""
    chain, admin = platform.chain, KEYS["city-admin"]
    bootstrap_department(platform, ISSUER, KEYS["department"], [admin], ISSUER_TYPES)
    bank_account = address_of(PrivateKey(bank_key))
    chain.set_account_role(admin, bank_account, ROLE_DEPARTMENT)
    chain.admit_department([admin], BANK, "bench bank", ROLE_BANK, bank_account)
    platform.trust.refresh(force=True)
    now = int(time.time())
    seed = generate_signing_key()
    method = f"did:citychain:{ENTERPRISE}#{calculate_kid(public_key_of(seed)).hex()}"
    platform.credit.register_enterprise_key(ISSUER, ENTERPRISE, public_key_of(seed), now)
    for record_type, content in RECORDS.items():
        platform.credit.submit_record(ISSUER, ISSUER_ACCOUNT, {
            "subject": ENTERPRISE, "recordType": record_type, "effectiveDate": "2026-03-01",
            "content": content}, now)
    # Checkpoint and anchor once (no workers run in this process), then see the anchor.
    platform.logs.checkpoint_all()
    settings = platform.settings
    anchor_pending(SqlOutbox(platform.engine), Web3AnchorChain(
        settings.rpc_url, settings.secret("operator_key"),
        bytes.fromhex(settings.city_registry[2:])))
    credit_log = chain_log_id(platform.logs.named("credit").origin)
    platform.trust.refresh(force=True)
    platform.trust.wait_for(lambda s: credit_log in s.checkpoints, 60)
    return seed, method


def logs_settled(engine: Any, origins: list[str]) -> bool:
    """Each log checkpointed at its full size and every checkpoint anchored."""
    with engine.connect() as conn:
        pending = conn.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.status == "pending")).scalar()
        sizes = {r.origin: r.size for r in conn.execute(
            select(logs.c.origin, logs.c.size).where(logs.c.origin.in_(origins)))}
        checkpointed = {r.origin: r.size for r in conn.execute(
            select(outbox.c.origin, func.max(outbox.c.size).label("size"))
            .where(outbox.c.origin.in_(origins)).group_by(outbox.c.origin))}
    return not pending and all(checkpointed.get(o, -1) == s for o, s in sizes.items())


# ---- measurements -------------------------------------------------------------------------


def _percentile(sorted_values: list[float], q: float) -> float:
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * q))]


def in_process(count: int, operation: Callable[[int], object], raw: Raw,
               raw_slice: Callable[[int], None]) -> dict[str, float]:
    """``count`` operations in this thread, in slices of SLICE, each followed by
    ``raw_slice(SLICE)``; rate, per CPU-second, p50/p99."""
    latencies: list[float] = []
    cpu = 0.0
    for first in range(0, count, SLICE):
        cpu_started = cpu_seconds()
        for n in range(first, min(count, first + SLICE)):
            started = time.perf_counter()
            operation(n)
            latencies.append(time.perf_counter() - started)
        cpu += cpu_seconds() - cpu_started
        raw_slice(SLICE)
    seconds = sum(latencies)
    latencies.sort()
    return {"per_s": count / seconds, "per_cpu_s": count / cpu,
            "p50_ms": statistics.median(latencies) * 1000,
            "p99_ms": _percentile(latencies, 0.99) * 1000, "operations": count}


def over_http(api_url: str, key: bytes, path: str, body: Callable[[int], dict[str, Any] | None],
              seconds: float, clients: int, warm: int = 10) -> dict[str, Any]:
    """Client threads POSTing ``body(n)`` (None: stop) for ``seconds``; every reply must be
    201. Requests/s, p50/p99 latency."""
    latencies: list[list[float]] = [[] for _ in range(clients)]
    failed = [0] * clients
    errors: list[str] = []
    ready = threading.Barrier(clients + 1)
    go = threading.Event()
    stop_at = [0.0]
    numbers = itertools.count()
    ran_out = threading.Event()

    def worker(c: int) -> None:
        try:
            with TrustApiClient(api_url, key, timeout=60) as client:
                client.use_token()
                for _ in range(warm):  # not counted
                    payload = body(next(numbers))
                    if payload is not None:
                        client.post(path, json=payload)
                ready.wait()
                go.wait()
                mine = latencies[c]
                while time.perf_counter() < stop_at[0]:
                    payload = body(next(numbers))
                    if payload is None:
                        ran_out.set()
                        return
                    t0 = time.perf_counter()
                    reply = client.post(path, json=payload)
                    mine.append(time.perf_counter() - t0)
                    if reply.status_code != 201:
                        failed[c] += 1
                        if len(errors) < 3:
                            errors.append(reply.text[:1500])
        except Exception as exc:  # report, and do not leave the barrier hanging
            errors.append(repr(exc))
            ready.abort()
            raise

    threads = [threading.Thread(target=worker, args=(c,), daemon=True) for c in range(clients)]
    for thread in threads:
        thread.start()
    ready.wait()
    started = time.perf_counter()
    stop_at[0] = started + seconds
    go.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    every = sorted(x for mine in latencies for x in mine)
    if errors:
        print(f"{path} errors (first {len(errors)}): {errors}", file=sys.stderr)
    return {"per_s": len(every) / elapsed, "p50_ms": statistics.median(every) * 1000,
            "p99_ms": _percentile(every, 0.99) * 1000, "requests": len(every),
            "failed": sum(failed), "clients": clients, "ran_out_of_consents": ran_out.is_set()}


def _r(figures: dict[str, Any]) -> dict[str, Any]:
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def measure(args: argparse.Namespace, results: dict[str, Any], folder: Path, rpc_url: str,
            db_url: str) -> None:
    prefix = uuid.uuid4().hex[:8]
    api: _Process | None = None
    platform: Platform | None = None
    raw: Raw | None = None
    try:
        port = _free_port()
        values = {"database_url": db_url, "rpc_url": rpc_url,
                  "public_base_url": f"http://127.0.0.1:{port}",
                  "pii_key": secrets.token_hex(32), "token_secret": secrets.token_hex(32),
                  "platform_key": secrets.token_hex(32),
                  "operator_key": KEYS["service-module"].hex()}
        platform = Platform(Settings(**values))  # type: ignore[arg-type]
        bank_key = secrets.token_bytes(32)
        seed, method = set_up_city(platform, bank_key)
        http_budget = int(args.seconds * 600) + 20 * args.clients  # uses, generously
        consents = Consents(platform, seed, method, args.queries + 20 + http_budget)
        bank_account = address_of(PrivateKey(bank_key))

        def query(_n: int) -> dict[str, Any]:
            consent_id = consents.take()
            assert consent_id is not None
            return platform.credit.query(BANK, bank_account, query_body(consent_id),
                                         int(time.time()))

        attestation = None
        for n in range(20):  # warm-up, not counted
            attestation = query(n)
        assert attestation is not None
        entry = platform.logs.named("exchanges").store.get_entry(0)
        assert entry is not None

        # 1. raw limits
        raw = Raw(db_url, entry)
        raw.sign(args.raw)
        raw.verify(args.raw)
        raw.sha256(args.raw * 20)
        raw.leaf(args.raw * 20)
        raw.commit(args.raw // 40)
        results["raw"] = {
            "sign_per_s": round(raw.rate("sign")), "verify_per_s": round(raw.rate("verify")),
            "sha256_per_s": round(raw.rate("sha256")), "leaf_hash_per_s": round(raw.rate("leaf")),
            "commit_per_s": round(raw.rate("commit"), 1), "entry_bytes": len(entry),
            "attestation_bytes": len(canonicalize(attestation))}
        print(f"raw Ed25519 sign   {raw.rate('sign'):10,.0f} /s   (PyNaCl, 400-byte messages)")
        print(f"raw Ed25519 verify {raw.rate('verify'):10,.0f} /s")
        print(f"raw SHA-256        {raw.rate('sha256'):10,.0f} /s   (a {len(entry)}-byte "
              "exchanges-log entry of a credit query)")
        print(f"raw leaf hashing   {raw.rate('leaf'):10,.0f} /s   (RFC 9162, the same entry)")
        print(f"raw commits        {raw.rate('commit'):10,.1f} /s   (one write transaction of "
              f"one {len(entry)}-byte row, fsynced, same database)")

        # 2a. credit queries in this process (no API, no workers)
        raw.reset()

        def raw_query_slice(count: int) -> None:
            raw.sign(count)
            raw.commit(count)

        figures = in_process(args.queries, query, raw, raw_query_slice)
        limit = raw.query_limit()
        results["query_in_process"] = _r({
            **figures, "raw_limit_per_s": limit, "ratio": figures["per_s"] / limit,
            "raw_sign_per_s": raw.rate("sign"), "raw_commit_per_s": raw.rate("commit"),
            "ratio_to_raw_commit": figures["per_s"] / raw.rate("commit")})
        print(f"query, CreditService.query (1 thread) {figures['per_s']:,.1f} queries/s | "
              f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms | raw limit "
              f"{limit:,.1f}/s (1 sign + 1 commit; commits {raw.rate('commit'):,.1f}/s, "
              f"interleaved) | {figures['per_s'] / limit:.3f}x | per CPU-second "
              f"{figures['per_cpu_s']:,.0f}")

        # 3a. trace appends in this process
        raw.reset()

        def trace(n: int) -> dict[str, Any]:
            return platform.audit.append_trace(ISSUER, trace_body(n, prefix + "d"),
                                               int(time.time()))

        for n in range(20):  # warm-up (subjects' first events), not counted
            trace(1000 + n)
        figures = in_process(args.traces, trace, raw, raw.commit)
        limit = raw.rate("commit")
        results["trace_in_process"] = _r({**figures, "raw_limit_per_s": limit,
                                          "ratio": figures["per_s"] / limit})
        print(f"trace, AuditService.append_trace (1 thread) {figures['per_s']:,.1f} appends/s | "
              f"p50 {figures['p50_ms']:.2f} ms, p99 {figures['p99_ms']:.2f} ms | raw commits "
              f"{limit:,.1f}/s (interleaved) | {figures['per_s'] / limit:.3f}x | per "
              f"CPU-second {figures['per_cpu_s']:,.0f}")

        # 2b/3b. over HTTP, the API in its own process with its workers
        api = start_api(values, port, folder / "api.log")
        api_url = f"http://127.0.0.1:{port}"

        def next_query(_n: int) -> dict[str, Any] | None:
            consent_id = consents.take()
            return None if consent_id is None else query_body(consent_id)

        def next_trace(n: int) -> dict[str, Any]:
            return trace_body(n, prefix + "h")

        for name, key, path, body in (
                ("query_http", bank_key, "/v1/credit-queries", next_query),
                ("trace_http", KEYS["department"], "/v1/traces", next_trace)):
            raw.reset()
            raw.sign(args.raw // 4)
            raw.commit(args.raw // 80)
            api_cpu = cpu_seconds(api.process.pid)
            figures = over_http(api_url, key, path, body, args.seconds, args.clients)
            api_cpu = cpu_seconds(api.process.pid) - api_cpu
            raw.sign(args.raw // 4)
            raw.commit(args.raw // 80)
            limit = raw.query_limit() if name == "query_http" else raw.rate("commit")
            results[name] = _r({
                **figures, "raw_limit_per_s": limit, "ratio": figures["per_s"] / limit,
                "raw_commit_per_s": raw.rate("commit"),
                "api_cpu_ms_per_request": api_cpu / max(1, figures["requests"]) * 1000})
            what = "queries" if name == "query_http" else "appends"
            print(f"{'query' if name == 'query_http' else 'trace'}, POST {path} "
                  f"({args.clients} clients) {figures['per_s']:,.1f} {what}/s | p50 "
                  f"{figures['p50_ms']:.1f} ms, p99 {figures['p99_ms']:.1f} ms | raw limit "
                  f"{limit:,.1f}/s (before and after) | {figures['per_s'] / limit:.3f}x | API "
                  f"CPU {results[name]['api_cpu_ms_per_request']:.2f} ms/request"
                  + (f" | {figures['failed']} FAILED" if figures["failed"] else "")
                  + (" | ran out of consents" if figures["ran_out_of_consents"] else ""))

        # 4a. the regulator's verification of the logs just written, once anchored
        origins = [platform.logs.named(n).origin for n in ("exchanges", "traces")]
        deadline = time.monotonic() + 120
        while not logs_settled(platform.engine, origins):
            if time.monotonic() > deadline:
                raise TimeoutError("the API's workers did not anchor the logs")
            time.sleep(0.3)
        api.stop()
        api = None
        results["verify_logs"] = {}
        for name in ("exchanges", "traces"):
            started = time.perf_counter()
            result = platform.audit.verify(name)
            seconds = time.perf_counter() - started
            tracemalloc.start()  # a second run, for its peak (not timed)
            platform.audit.verify(name)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            results["verify_logs"][name] = {
                "entries": result.entries_checked, "seconds": round(seconds, 3),
                "per_s": round(result.entries_checked / seconds, 1),
                "peak_traced_mib": round(peak, 2), "verified": result.verified,
                "checkpoints": result.checkpoints_verified}
            print(f"verify, AuditService.verify({name!r}) {result.entries_checked:,} entries "
                  f"from the database in {seconds:.2f} s ({result.entries_checked / seconds:,.0f}"
                  f" entries/s, {result.checkpoints_verified} anchored checkpoints, peak traced "
                  f"{peak:.1f} MiB) | "
                  + ("verified" if result.verified else f"NOT VERIFIED: {result.findings[:3]}"))
    finally:
        if raw is not None:
            raw.close()
        if api is not None:
            api.stop()
        if platform is not None:
            platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--queries", type=int, default=2000, help="in-process credit queries")
    parser.add_argument("--traces", type=int, default=2000, help="in-process trace appends")
    parser.add_argument("--seconds", type=float, default=10.0,
                        help="duration of each HTTP phase")
    parser.add_argument("--clients", type=int, default=4, help="HTTP client threads")
    parser.add_argument("--entries", type=int, default=1_000_000,
                        help="entries of the generated log the regulator audits")
    parser.add_argument("--skip-audit", action="store_true",
                        help="skip the generated-log audit (part 4, bench.audit_log)")
    parser.add_argument("--raw", type=int, default=20_000, help="raw Ed25519 operations")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL URL (a fresh schema is created and dropped)")
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    args = parser.parse_args()
    if args.quick:
        args.queries, args.traces, args.seconds, args.raw = 200, 200, 2.0, 2000
        args.entries = min(args.entries, 50_000)

    results: dict[str, Any] = {
        "benchmark": "credit", "cpus": os.cpu_count(), "python": platform_info.python_version(),
        "database": "postgresql" if args.database_url else "sqlite", "queries": args.queries,
        "traces": args.traces, "seconds": args.seconds, "clients": args.clients,
        "loadavg_1m_before": round(os.getloadavg()[0], 2)}

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        node, rpc_url = start_node(folder / "node")
        try:
            with database(args.database_url, folder) as db_url:
                measure(args, results, folder, rpc_url, db_url)
        finally:
            node.stop()

    if not args.skip_audit:
        figures = audit_log.run(args.entries)
        results["audit_log"] = figures
        print(audit_log.describe(figures))
    results["loadavg_1m_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(results, sort_keys=True, ensure_ascii=False))


if __name__ == "__main__":
    main()
