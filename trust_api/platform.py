"""The platform services behind the API, built from settings, and their workers.

Workers (threads): the trust snapshot refresher, the credential-log checkpointer,
the status list publisher, the trust-write outbox worker and the anchoring worker.
Every API process runs the refresher (it only reads the chain); the other four write
(and two send transactions from the platform's accounts), so with several processes
only the one with ``settings.background_workers`` runs them.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable

from anchoring.anchored_log import SqlOutbox, run_worker
from anchoring.chain_client import Web3AnchorChain
from license_registry.pii import PiiCipher
from trust_api.audit_service import AuditService
from trust_api.bundles import BundleService
from trust_api.chain_client import TrustChain
from trust_api.chain_writer import ChainWriter
from trust_api.credit_service import CreditService
from trust_api.db import open_database, write_transaction
from trust_api.exchange_log import ExchangeLog
from trust_api.issuance import IssuanceService
from trust_api.jobs import JobRunner
from trust_api.keystore import KeyStore
from trust_api.license_logs import LicenseLogs
from trust_api.lifecycle_service import LifecycleService
from trust_api.online import DatabaseStatus, LogAnchors
from trust_api.settings import Settings
from trust_api.sql_nonces import SqlNonceStore
from trust_api.status_store import publish_changed
from trust_api.trust_state import TrustState

log = logging.getLogger("citychain.trust_api")


class Platform:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = open_database(settings.database_url)
        storage_key = settings.secret("pii_key")
        self.cipher = PiiCipher(storage_key)
        self.keystore = KeyStore(self.engine, self.cipher)
        self.logs = LicenseLogs(self.engine, settings.log_host, settings.secret("platform_key"))
        self.chain = TrustChain(settings.rpc_url, bytes.fromhex(settings.city_registry[2:]))
        self.trust = TrustState(self.chain, self.logs.log_ids)
        holder_salt = hmac.new(storage_key, b"citychain holder salt", hashlib.sha256).digest()
        self.issuance = IssuanceService(self.engine, self.trust, self.keystore, self.logs,
                                        self.cipher, holder_salt, settings.base_url)
        self.lifecycle = LifecycleService(self.engine, self.issuance)
        self.nonces = SqlNonceStore(self.engine)
        self.token_secret = settings.secret("token_secret")
        self.jobs = JobRunner(self.engine, self.issuance,
                              recover_interrupted=settings.background_workers)
        self.status_source = DatabaseStatus(self.engine)
        self.anchor_source = LogAnchors(self.engine, self.logs)
        self.bundles = BundleService(self)
        self.exchanges = ExchangeLog(self.engine, self.logs)
        self.credit = CreditService(self.engine, self.trust, self.logs, self.exchanges,
                                    settings.secret("platform_key"), self.nonces)
        self.audit = AuditService(self.engine, self.trust, self.logs, self.chain)
        self.writer = ChainWriter(self.engine, self.chain, self.keystore.service_account_key)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    # ---- periodic work (also called directly by tests) ----

    def publish_status_lists(self) -> int:
        now = int(time.time())
        snapshot = self.trust.current()

        def signer(department: str) -> tuple[bytes, bytes]:
            return self.keystore.signing_key(department, snapshot, now)

        with write_transaction(self.engine) as conn:
            return publish_changed(conn, self.settings.base_url, signer, now)

    def _loop(self, name: str, step: Callable[[], object], interval: float) -> None:
        failures = 0
        while not self._stop.is_set():
            try:
                step()
                failures = 0
            except Exception as exc:
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("%s failed (%d in a row): %s", name, failures, exc)
            self._stop.wait(interval if failures == 0 else min(5.0, interval * (1 + failures)))

    def _thread(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def start_workers(self) -> None:
        s = self.settings
        self._thread("trust-refresh", lambda: self.trust.run(self._stop, s.refresh_interval))
        if not s.background_workers:
            return
        self._thread("log-checkpoint", lambda: self._loop(
            "checkpointing", self.logs.checkpoint_all, s.checkpoint_interval))
        self._thread("status-publish", lambda: self._loop(
            "status list publication", self.publish_status_lists, s.publish_interval))
        self._thread("chain-writer", lambda: self.writer.run(self._stop, 0.5))
        anchor_chain = Web3AnchorChain(s.rpc_url, s.secret("operator_key"),
                                       bytes.fromhex(s.city_registry[2:]))
        # Supervised: an unexpected error is logged and the worker starts again, rather
        # than its thread dying silently with checkpoints left unanchored.
        self._thread("anchoring", lambda: self._loop(
            "anchoring", lambda: run_worker(SqlOutbox(self.engine), anchor_chain, self._stop,
                                            poll=0.5), 1.0))

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=timeout)
        self.jobs.shutdown()
        self.engine.dispose()
