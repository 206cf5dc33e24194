"""Regulatory traces and data-exchange logs over HTTP, and the regulator's audit: rows
edited, deleted or reordered directly in the database (SQLite and PostgreSQL) are found
and named; a report re-verifies offline with `citychain audit verify`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import delete, select, update

from anchoring.store_sql import leaves
from chain.cli import main as cli
from tests.trust_api.harness import PG_URL, VERIFIER, City, start_city
from trust_api.tables_audit import exchange_records, trace_events

pytestmark = [pytest.mark.timeout(600), pytest.mark.slow]
LOT = "LOT-2026-0001"


def h(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def city(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[City]:
    if request.param == "postgresql" and not PG_URL:
        pytest.skip("set CITYCHAIN_TEST_DATABASE_URL to run on PostgreSQL")
    for city in start_city(request.param, tmp_path_factory.mktemp(f"audit-{request.param}")):
        for label, event in (("issuer", "PRODUCED"), ("issuer", "INSPECTED"),
                             ("verifier", "SHIPPED"), ("verifier", "RECEIVED")):
            reply = city.client(label).post("/v1/traces", json={
                "subjectKind": "FOOD_LOT", "subjectId": LOT, "eventType": event,
                "payloadHash": h(event)})
            assert reply.status_code == 201, reply.text
        for n in range(6):
            reply = city.client("issuer").post("/v1/exchanges", json={
                "provider": VERIFIER, "dataset": "FOOD-SAFETY-INSPECTIONS",
                "subjectHash": h(f"subject-{n}"), "purpose": "SUPERVISION",
                "legalBasis": "《食品安全法》第一百一十条", "resultHash": h(f"result-{n}")})
            assert reply.status_code == 201, reply.text
        city.settle()
        yield city


def verify(city: City, log: str) -> dict[str, Any]:
    reply = city.client("regulator").post(f"/v1/audit/{log}/verify")
    assert reply.status_code == 200, reply.text
    return reply.json()


def test_a_trace_reads_with_proofs_for_entitled_departments(city: City) -> None:
    trace = city.client("regulator").get(f"/v1/traces/FOOD_LOT/{LOT}").json()
    assert [e["eventType"] for e in trace["events"]] == [
        "PRODUCED", "INSPECTED", "SHIPPED", "RECEIVED"]
    assert all(e["proof"] is not None for e in trace["events"])
    events = trace["events"]
    assert events[0]["prevEventHash"] is None
    assert all(b["prevEventHash"] for b in events[1:])
    assert city.client("verifier").get(f"/v1/traces/FOOD_LOT/{LOT}").status_code == 200
    assert city.client("bank").get(f"/v1/traces/FOOD_LOT/{LOT}").status_code == 403
    assert city.client("bank").post("/v1/audit/traces/verify").status_code == 403


def test_untouched_logs_verify(city: City) -> None:
    for log in ("traces", "exchanges"):
        result = verify(city, log)
        assert result["verified"] is True, result
        assert result["entriesChecked"] == result["logSize"] > 0


def _tamper_and_check(city: City, log: str, change: Any, restore: Any,
                      expected: set[tuple[str, int]]) -> None:
    with city.platform.engine.begin() as conn:
        saved = change(conn)
    try:
        found = {(f["code"], f.get("index")) for f in verify(city, log)["findings"]}
        assert expected <= found, found
    finally:
        with city.platform.engine.begin() as conn:
            restore(conn, saved)
    assert verify(city, log)["verified"] is True


def test_an_edited_trace_event_is_named(city: City) -> None:
    def change(conn: Any) -> Any:
        row = conn.execute(select(trace_events).where(trace_events.c.seq == 1)).one()
        conn.execute(update(trace_events).where(trace_events.c.event_id == row.event_id)
                     .values(event_type="SOLD"))
        return row

    def restore(conn: Any, row: Any) -> None:
        conn.execute(update(trace_events).where(trace_events.c.event_id == row.event_id)
                     .values(event_type=row.event_type))

    index = city.platform.engine.connect().execute(
        select(trace_events.c.log_index).where(trace_events.c.seq == 1)).scalar()
    _tamper_and_check(city, "traces", change, restore, {("modified", index)})


def test_a_deleted_exchange_record_is_named(city: City) -> None:
    def change(conn: Any) -> Any:
        row = conn.execute(select(exchange_records).where(exchange_records.c.seq == 2)).one()
        conn.execute(delete(exchange_records).where(exchange_records.c.seq == 2))
        return row

    def restore(conn: Any, row: Any) -> None:
        conn.execute(exchange_records.insert().values(**row._mapping))

    index = city.platform.engine.connect().execute(
        select(exchange_records.c.log_index).where(exchange_records.c.seq == 2)).scalar()
    _tamper_and_check(city, "exchanges", change, restore, {("missing", index)})


def test_reordered_exchange_records_are_named(city: City) -> None:
    def change(conn: Any) -> Any:
        rows = conn.execute(select(exchange_records).where(exchange_records.c.seq.in_([3, 4]))
                            .order_by(exchange_records.c.seq)).all()
        a, b = rows
        # Swap the two rows' contents but keep their log positions: the order is changed.
        conn.execute(delete(exchange_records).where(exchange_records.c.seq.in_([3, 4])))
        swapped_a = {**a._mapping, "log_index": b.log_index, "seq": 1_000_003}
        swapped_b = {**b._mapping, "log_index": a.log_index, "seq": 1_000_004}
        conn.execute(exchange_records.insert().values(**swapped_a))
        conn.execute(exchange_records.insert().values(**swapped_b))
        return rows

    def restore(conn: Any, rows: Any) -> None:
        conn.execute(delete(exchange_records).where(
            exchange_records.c.seq.in_([1_000_003, 1_000_004])))
        for row in rows:
            conn.execute(exchange_records.insert().values(**row._mapping))

    with city.platform.engine.connect() as conn:
        indices = [r.log_index for r in conn.execute(
            select(exchange_records).where(exchange_records.c.seq.in_([3, 4])))]
    with city.platform.engine.begin() as conn:
        saved = change(conn)
    try:
        findings = verify(city, "exchanges")["findings"]
        named = {f.get("index") for f in findings}
        assert set(indices) <= named, findings
        assert {f["code"] for f in findings} & {"reordered", "modified", "chain_broken"}
    finally:
        with city.platform.engine.begin() as conn:
            restore(conn, saved)
    assert verify(city, "exchanges")["verified"] is True


def test_an_edited_log_leaf_is_named(city: City) -> None:
    log_id = city.platform.logs.named("traces").store.log_id

    def change(conn: Any) -> Any:
        row = conn.execute(select(leaves).where(leaves.c.log_id == log_id, leaves.c.idx == 2)).one()
        conn.execute(update(leaves).where(leaves.c.log_id == log_id, leaves.c.idx == 2)
                     .values(leaf_hash=bytes(32)))
        return row

    def restore(conn: Any, row: Any) -> None:
        conn.execute(update(leaves).where(leaves.c.log_id == log_id, leaves.c.idx == 2)
                     .values(leaf_hash=row.leaf_hash))

    _tamper_and_check(city, "traces", change, restore, {("leaf_modified", 2)})


def test_a_report_reverifies_offline(city: City, tmp_path: Path) -> None:
    reply = city.client("regulator").post("/v1/audit/traces/reports", json={"subjectKind": "FOOD_LOT", "subjectId": LOT})
    assert reply.status_code == 201, reply.text
    created = reply.json()
    report = created["report"]
    assert len(report["entries"]) == 4 and report["verified"] is True
    path = tmp_path / "report.json"
    path.write_text(json.dumps(report, ensure_ascii=False))
    vkey = city.platform.logs.named("traces").signer.verifier().vkey()
    ok = CliRunner().invoke(cli, ["audit", "verify", str(path), "--log-key", vkey])
    assert ok.exit_code == 0, ok.output
    report["entries"][1]["entry"]["eventType"] = "RECALLED"
    path.write_text(json.dumps(report, ensure_ascii=False))
    bad = CliRunner().invoke(cli, ["audit", "verify", str(path), "--log-key", vkey])
    assert bad.exit_code == 1, bad.output
    html = city.client("regulator").get(f"/v1/audit/reports/{created['id']}",
                                        params={"format": "html"})
    assert html.status_code == 200 and LOT in html.text
    entries = city.client("regulator").get("/v1/audit/exchanges/entries",
                                           params={"department": VERIFIER})
    assert entries.status_code == 200 and len(entries.json()["entries"]) >= 6
