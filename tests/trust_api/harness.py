"""A real city for end-to-end tests: a dev node process, the trust API served over HTTP
(uvicorn, in a thread) on SQLite or the real PostgreSQL, and onboarded departments.

Departments (chain roles as the city administration would set them):
- ISSUER: the dev department (91350100M000100Y43), accredited for CN-BL, CN-FBL, CN-PQC
  (modules ask for other types, e.g. credit record types, through ``types``);
- VERIFIER: 91110000600037341L, a verifier department that recognizes nothing at first;
- BANK: a department with the BANK role only;
- REGULATOR: a department with the REGULATOR role only.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from eth_account import Account
from sqlalchemy import text

from anchoring.store_sql import make_engine
from chain.devnet import DEV_ACCOUNTS, DEV_DEPARTMENT
from license_registry.identifiers import calculate_usci_check
from license_registry.trust import ROLE_BANK, ROLE_ISSUER, ROLE_REGULATOR, ROLE_VERIFIER
from tests.e2e.node_process import NodeProcess, dev_node, free_port
from trust_api.app import create_app
from trust_api.client import TrustApiClient
from trust_api.dev_bootstrap import ROLE_DEPARTMENT, bootstrap_department
from trust_api.platform import Platform
from trust_api.settings import Settings

PG_URL = os.environ.get("CITYCHAIN_TEST_DATABASE_URL")
KEYS = {a.label: a.private_key for a in DEV_ACCOUNTS}
ISSUER = DEV_DEPARTMENT.usci
VERIFIER = "91110000600037341L"
BANK_BODY = "91310000MA1FL0000"
BANK = BANK_BODY + calculate_usci_check(BANK_BODY)
REGULATOR_BODY = "11420000MB1234567"
REGULATOR = REGULATOR_BODY + calculate_usci_check(REGULATOR_BODY)
ISSUER_TYPES = ("CN-BL", "CN-FBL", "CN-PQC")


@dataclass
class City:
    node: NodeProcess
    platform: Platform
    api_url: str
    server: uvicorn.Server
    accounts: dict[str, bytes] = field(default_factory=dict)  # label -> private key

    def client(self, label: str) -> TrustApiClient:
        return TrustApiClient(self.api_url, self.accounts[label])

    def wait(self, predicate: Any, timeout: float = 30.0, what: str = "condition") -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.1)
        raise AssertionError(f"timed out waiting for {what}")

    def settle(self, timeout: float = 60.0) -> None:
        """Wait until the workers have published every changed status list, sent every
        chain write, checkpointed and anchored every log, and the trust data is fresh."""
        try:
            self.wait(lambda: _idle(self.platform), timeout, "the workers to settle")
        except AssertionError:
            raise AssertionError(f"the workers did not settle: {_backlog(self.platform)}") from None
        self.platform.trust.refresh(force=True)


def _backlog(platform: Platform) -> dict[str, object]:
    from sqlalchemy import select

    from anchoring.store_sql import outbox
    from trust_api.tables import chain_outbox, status_lists

    with platform.engine.connect() as conn:
        return {
            "changed lists": conn.execute(select(status_lists.c.department, status_lists.c.number)
                                          .where(status_lists.c.changed.is_(True))).all(),
            "writes": conn.execute(select(chain_outbox.c.kind, chain_outbox.c.last_error)
                                   .where(chain_outbox.c.status == "pending")).all(),
            "anchors": conn.execute(select(outbox.c.origin, outbox.c.size, outbox.c.last_error)
                                    .where(outbox.c.status == "pending")).all()}


def _idle(platform: Platform) -> bool:
    from sqlalchemy import func, select

    from anchoring.store_sql import logs, outbox
    from trust_api.tables import chain_outbox, status_lists

    with platform.engine.connect() as conn:
        changed = conn.execute(select(func.count()).select_from(status_lists)
                               .where(status_lists.c.changed.is_(True))).scalar()
        # A write the chain refused waits for a person (the writer keeps it, with the
        # chain's reason); earlier tests leave some on purpose, so only unrefused ones count.
        writes = conn.execute(select(func.count()).select_from(chain_outbox).where(
            chain_outbox.c.status == "pending", chain_outbox.c.last_error.is_(None))).scalar()
        anchors = conn.execute(select(func.count()).select_from(outbox)
                               .where(outbox.c.status == "pending")).scalar()
        sizes = {r.origin: r.size for r in conn.execute(select(logs.c.origin, logs.c.size))}
        checkpointed = {r.origin: r.size for r in conn.execute(
            select(outbox.c.origin, func.max(outbox.c.size).label("size"))
            .group_by(outbox.c.origin))}
    grown = any(size > checkpointed.get(origin, 0) for origin, size in sizes.items()
                if origin.startswith(platform.logs.host + "/"))
    return not (changed or writes or anchors or grown)


def database_url(kind: str, tmp: Path) -> tuple[str, Any]:
    if kind == "sqlite":
        return f"sqlite:///{tmp / 'trust.db'}", None
    assert PG_URL is not None
    schema = f"trust_test_{uuid.uuid4().hex[:12]}"
    admin = make_engine(PG_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in PG_URL else "?"

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    return f"{PG_URL}{sep}options=-csearch_path%3D{schema}", drop


def start_city(kind: str, tmp: Path, types: tuple[str, ...] = ISSUER_TYPES) -> Iterator[City]:
    node = dev_node(tmp / "node")
    node.start()
    url, drop = database_url(kind, tmp)
    port = free_port()
    settings = Settings(
        database_url=url, rpc_url=node.http_url, public_base_url=f"http://127.0.0.1:{port}",
        pii_key=secrets.token_hex(32), token_secret=secrets.token_hex(32),
        platform_key=secrets.token_hex(32), operator_key=KEYS["service-module"].hex(),
        refresh_interval=0.2, checkpoint_interval=0.2, publish_interval=0.2,
        max_clock_skew=300)
    platform = Platform(settings)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, platform=platform),
                                           host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    try:
        bootstrap_department(platform, ISSUER, KEYS["department"], [KEYS["city-admin"]], types)
        accounts = {"issuer": KEYS["department"], "verifier": secrets.token_bytes(32),
                    "bank": secrets.token_bytes(32), "outsider": secrets.token_bytes(32),
                    "issuer-operator": secrets.token_bytes(32),
                    "regulator": secrets.token_bytes(32)}
        chain = platform.chain
        for label, usci, roles in (("verifier", VERIFIER, ROLE_VERIFIER),
                                   ("bank", BANK, ROLE_BANK),
                                   ("regulator", REGULATOR, ROLE_REGULATOR)):
            address = bytes.fromhex(Account.from_key(accounts[label]).address[2:])
            chain.set_account_role(KEYS["city-admin"], address, ROLE_DEPARTMENT)
            chain.admit_department([KEYS["city-admin"]], usci, f"{label} department", roles,
                                   address)
        operator = bytes.fromhex(Account.from_key(accounts["issuer-operator"]).address[2:])
        chain.set_account_role(KEYS["city-admin"], operator, ROLE_DEPARTMENT)
        chain.add_operator(KEYS["department"], operator)
        platform.trust.refresh(force=True)
        thread.start()
        city = City(node, platform, f"http://127.0.0.1:{port}", server, accounts)
        city.wait(lambda: server.started, 20, "the API to start")
        yield city
    finally:
        server.should_exit = True
        if thread.is_alive():
            thread.join(timeout=15)
        # Workers may be waiting on a receipt: let them finish before the node goes away.
        platform.stop(timeout=15)
        node.stop()
        if drop is not None:
            drop()


__all__ = ["BANK", "ISSUER", "ROLE_ISSUER", "VERIFIER", "City", "start_city"]
