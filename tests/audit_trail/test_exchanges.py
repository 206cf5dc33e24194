"""Data-exchange and credit-query records: rules, JCS entries, strict parsing, the chain."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from typing import Any

import pytest

from audit_trail.chains import CHAIN_BROKEN, CHAIN_GAP
from audit_trail.exchanges import (
    Decision,
    ExchangeKind,
    ExchangeRecord,
    build_exchange_record,
    exchange_entry,
    exchange_from_entry,
    exchange_from_json,
    record_hash,
    validate_exchange_chain,
)
from license_registry.errors import FormatError, InvalidInput

from .samples import EXCHANGES, MARKET, T0, TAX, h, uuid_urn

ALLOWED: dict[str, Any] = {
    "kind": "exchange", "time": T0, "requester": MARKET, "provider": TAX,
    "dataset": "HOUSEHOLD", "subject_hash": h("subject"), "purpose": "SOCIAL_SECURITY",
    "legal_basis": "City data-sharing regulation art. 12", "result_hash": h("answer"),
    "decision": "allowed",
}


def test_records_are_hash_chained_from_seq_0() -> None:
    first = build_exchange_record(None, **ALLOWED)
    second = build_exchange_record(first, **{**ALLOWED, "time": T0 + 1})
    assert (first.seq, first.prev_hash) == (0, None)
    assert second.seq == 1
    assert second.prev_hash == hashlib.sha256(exchange_entry(first)).hexdigest()
    assert record_hash(second) == hashlib.sha256(exchange_entry(second)).digest()
    assert validate_exchange_chain([first, second]) == []


def test_the_entry_is_the_jcs_of_the_record_without_absent_options() -> None:
    assert exchange_entry(build_exchange_record(None, **ALLOWED)) == (
        '{"dataset":"HOUSEHOLD","decision":"allowed","kind":"exchange",'
        '"legalBasis":"City data-sharing regulation art. 12","prevHash":null,'
        f'"provider":"{TAX}","purpose":"SOCIAL_SECURITY","requester":"{MARKET}",'
        f'"resultHash":"{h("answer")}","seq":0,"subjectHash":"{h("subject")}",'
        '"time":1718000000}').encode()


def test_a_refused_credit_query_keeps_its_reason_and_consent() -> None:
    record = build_exchange_record(None, **{
        **ALLOWED, "kind": ExchangeKind.CREDIT_QUERY, "provider": "platform",
        "dataset": "CR-PEN", "decision": Decision.REFUSED, "reason": "consent_revoked",
        "consent_id": uuid_urn(5)})
    document = json.loads(exchange_entry(record))
    assert (document["reason"], document["consentId"], document["provider"]) == (
        "consent_revoked", uuid_urn(5), "platform")


@pytest.mark.parametrize("record", EXCHANGES[:8], ids=lambda r: f"seq{r.seq}-{r.kind}")
def test_entries_round_trip(record: ExchangeRecord) -> None:
    assert exchange_from_entry(exchange_entry(record)) == record
    assert exchange_from_json(json.loads(exchange_entry(record))) == record


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "gossip"}, "kind"),
    ({"requester": "not-a-usci"}, "requester"),
    ({"provider": "PLATFORM"}, "provider"),
    ({"provider": MARKET}, "provider"),  # asks itself
    ({"dataset": "household"}, "dataset"),
    ({"subject_hash": "91350100M000100Y43"}, "subjectHash"),  # a raw id, not a hash
    ({"purpose": ""}, "purpose"),
    ({"legal_basis": ""}, "legalBasis"),
    ({"legal_basis": "x" * 201}, "legalBasis"),
    ({"legal_basis": "art. 12\nart. 13"}, "legalBasis"),
    ({"result_hash": None}, "resultHash"),
    ({"decision": "maybe"}, "decision"),
    ({"decision": "refused"}, "reason"),  # refused without a reason
    ({"reason": "because"}, "reason"),  # a reason on an allowed exchange
    ({"kind": "credit_query"}, "consentId"),  # allowed credit query without consent
    ({"consent_id": "consent-1"}, "consentId"),
    ({"time": "2024-06-10"}, "time"),
])
def test_invalid_records_are_refused_naming_the_field(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        build_exchange_record(None, **{**ALLOWED, **change})
    assert caught.value.field == field


SAMPLE = json.loads(exchange_entry(EXCHANGES[4]))  # an allowed credit query, seq 4


@pytest.mark.parametrize(("change", "field"), [
    ({"subject": "91350100M000100Y43"}, "exchangeRecord"),  # unknown key
    ({"purpose": None}, "exchangeRecord.purpose"),  # absent
    ({"reason": None, "__keep_null__": "reason"}, "exchangeRecord.reason"),
    ({"seq": -1}, "exchangeRecord.seq"),
    ({"seq": 2**53}, "exchangeRecord.seq"),
    ({"prevHash": None, "__keep_null__": "prevHash"}, "exchangeRecord.prevHash"),
    ({"requester": " " + TAX}, "exchangeRecord.requester"),
    ({"decision": "ALLOWED"}, "exchangeRecord.decision"),
    ({"consentId": None}, "exchangeRecord.consentId"),  # an allowed query needs it
    ({"legalBasis": 12}, "exchangeRecord.legalBasis"),
])
def test_strict_parsing_names_the_field(change: dict[str, Any], field: str) -> None:
    keep = change.pop("__keep_null__", None)
    document = {k: v for k, v in {**SAMPLE, **change}.items() if v is not None or k == keep}
    with pytest.raises(FormatError) as caught:
        exchange_from_json(document)
    assert (caught.value.code, caught.value.field) == ("bad_exchange_record", field)


@pytest.mark.parametrize(("entry", "message"), [
    (b"[1, 2", "not JSON"),
    (b"[]", "JSON object"),
    (json.dumps(SAMPLE, sort_keys=False, separators=(", ", ": ")).encode(), "canonical"),
])
def test_entry_bytes_must_be_canonical(entry: bytes, message: str) -> None:
    with pytest.raises(FormatError, match=message):
        exchange_from_entry(entry)


@pytest.mark.parametrize(("records", "expected"), [
    (EXCHANGES, []),
    (EXCHANGES[10:20], []),  # a slice starts where it starts
    (EXCHANGES[:5] + EXCHANGES[6:9], [(CHAIN_GAP, 6)]),
    (EXCHANGES[:5] + [dataclasses.replace(EXCHANGES[5], time=T0)] + EXCHANGES[6:9],
     [(CHAIN_BROKEN, 6)]),
    (EXCHANGES[:3] + [EXCHANGES[4], EXCHANGES[3]] + EXCHANGES[5:8],
     [(CHAIN_GAP, 4), (CHAIN_BROKEN, 3), (CHAIN_GAP, 5)]),
    ([dataclasses.replace(EXCHANGES[0], prev_hash=h("x"))], [(CHAIN_BROKEN, 0)]),
], ids=["whole", "slice", "deleted", "edited", "swapped", "seq0-names-a-previous"])
def test_chain_findings_name_the_record(records: list[ExchangeRecord],
                                        expected: list[tuple[str, int]]) -> None:
    assert [(f.code, f.seq) for f in validate_exchange_chain(records)] == expected


def test_a_credit_query_record_carries_its_operator_and_scopes() -> None:
    from audit_trail.exchanges import build_exchange_record, exchange_entry, exchange_from_entry

    record = build_exchange_record(
        None, kind="credit_query", time=T0, requester=MARKET, provider="platform",
        dataset="CREDIT-RECORDS", subject_hash=h("subject"), purpose="LOAN_APPLICATION",
        legal_basis="consent", result_hash=h("result"), decision="refused", reason="exhausted",
        operator="0x" + "ab" * 20, scopes=["CR-PEN", "CR-RAT"])
    assert exchange_from_entry(exchange_entry(record)) == record
    assert json.loads(exchange_entry(record))["scopes"] == ["CR-PEN", "CR-RAT"]
    for bad in ({"operator": "0xABC"}, {"scopes": ["CR-RAT", "CR-PEN"]}, {"scopes": []}):
        with pytest.raises(InvalidInput):
            build_exchange_record(
                None, kind="credit_query", time=T0, requester=MARKET, provider="platform",
                dataset="CREDIT-RECORDS", subject_hash=h("s"), purpose="P", legal_basis="x",
                result_hash=h("r"), decision="allowed", **bad)
