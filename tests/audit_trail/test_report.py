"""Audit reports: built, re-verified offline, tampered with, and shown as HTML."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

import anchoring.verification as anchoring_verification
from anchoring.anchored_log import chain_log_id
from anchoring.merkle import build_consistency_proof, build_inclusion_proof
from anchoring.verification import RecordProof, verify_record
from anchoring.worker import AnchorOnChain
from audit_trail import report as report_module
from audit_trail.chains import MODIFIED, Finding
from audit_trail.report import (
    ANCHORED_ROOT_DIFFERS,
    BAD_PROOF,
    FINDINGS_INCONSISTENT,
    GENERATED_LATER,
    INCONSISTENT,
    MALFORMED,
    QUERY_MISMATCH,
    SIGNATURE_INVALID,
    UNKNOWN_KEY,
    WRONG_ORIGIN,
    build_report,
    verify_report,
)
from audit_trail.report_html import render_report_html
from audit_trail.traces import build_trace_event, trace_entry
from license_registry.errors import FormatError, InvalidInput

from .samples import (
    EXCHANGES_SIGNER,
    MARKET,
    STRANGER,
    T0,
    TRACE_LOG,
    TRACES,
    TRACES_ORIGIN,
    TRACES_SIGNER,
    h,
    make_log,
    signed_checkpoint,
    uuid_urn,
)

LOT = "LOT-2024-0001"
SELECTED = [i for i, e in enumerate(TRACES) if e.subject_id == LOT]  # 0, 3, 6, ...
QUERY = {"subjectKind": "FOOD_LOT", "subjectId": LOT, "timeFrom": T0, "timeUntil": T0 + 10**6}
ANCHOR = AnchorOnChain(40, TRACE_LOG.root(40), 42)
VKEY = TRACES_SIGNER.verifier().vkey()


def make_report(log: Any = TRACE_LOG, selected: list[int] = SELECTED, **overrides: Any
                ) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "title": "Food lot LOT-2024-0001, full trace", "generated_at": T0 + 200_000,
        "query": QUERY, "log_origin": TRACES_ORIGIN, "log_vkey": VKEY,
        "entries": [(i, log.entries[i], build_inclusion_proof(i, log.leaves[:40]))
                    for i in selected],
        "checkpoint_note": log.notes[-1], "anchored": ANCHOR, "anchor_tx": "0x" + "ab" * 32,
        "consistency": [(AnchorOnChain(s, log.root(s), 30 + s // 10),
                         build_consistency_proof(s, log.leaves[:40])) for s in (20, 30)],
        "findings": [],
    }
    return build_report(**{**arguments, **overrides})


REPORT = make_report()


def test_a_built_report_verifies_offline() -> None:
    verdict = verify_report(REPORT, now=T0 + 200_000, log_key=VKEY)
    assert (verdict.valid, verdict.failures, verdict.checkpoint_size, verdict.anchored_block,
            verdict.entries_verified) == (True, (), 40, 42, len(SELECTED))
    assert verdict.to_json()["verdict"] == "valid"


def test_the_report_survives_a_json_round_trip_and_holds_entries_in_full() -> None:
    again = json.loads(json.dumps(REPORT, ensure_ascii=False))
    assert verify_report(again).valid
    assert [e["entry"]["eventId"] for e in again["entries"]] == [
        TRACES[i].event_id for i in SELECTED]
    assert again["anchor"] == {"size": 40, "root": base64.b64encode(ANCHOR.root).decode(),
                               "blockNumber": 42, "transaction": "0x" + "ab" * 32}
    assert (again["generatedAt"], again["verified"], again["howToVerify"]) == (
        "2024-06-12T13:46:40Z", True, "citychain audit verify report.json")


def test_each_entry_proof_is_an_anchoring_record_proof_too() -> None:
    """A reader with only `citychain log verify-record` can check any one entry."""
    class Chain:
        def anchor_at_size(self, log_id: bytes, size: int) -> AnchorOnChain | None:
            return ANCHOR if (log_id, size) == (chain_log_id(TRACES_ORIGIN), 40) else None

    item = REPORT["entries"][2]
    bundle = RecordProof(TRACES_ORIGIN, item["index"],
                         TRACE_LOG.leaves[item["index"]],
                         tuple(base64.b64decode(p) for p in item["proof"]),
                         REPORT["checkpoint"].encode())
    verdict = verify_record(bundle, [TRACES_SIGNER.verifier()], Chain())
    assert (verdict.valid, verdict.anchored_block) == (True, 42)


@pytest.mark.parametrize("name", ["MALFORMED", "UNKNOWN_KEY", "SIGNATURE_INVALID",
                                  "WRONG_ORIGIN", "BAD_PROOF", "ANCHORED_ROOT_DIFFERS",
                                  "INCONSISTENT"])
def test_failure_codes_are_anchoring_verification_codes(name: str) -> None:
    assert getattr(report_module, name) == getattr(anchoring_verification, name)


def _entry(n: int) -> tuple[int, int, str]:
    index = SELECTED[n]
    return index, TRACES[index].seq, TRACES[index].event_id


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def _set_entry(n: int, key: str, value: Any) -> Callable[[dict[str, Any]], object]:
    return lambda r: r["entries"][n]["entry"].__setitem__(key, value)


def _flip_proof(n: int, k: int) -> Callable[[dict[str, Any]], object]:
    def change(r: dict[str, Any]) -> None:
        raw = bytearray(base64.b64decode(r["entries"][n]["proof"][k]))
        raw[0] ^= 1
        r["entries"][n]["proof"][k] = _b64(bytes(raw))
    return change


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], object]:
    def change(r: dict[str, Any]) -> None:
        target = r
        for step in path[:-1]:
            target = target[step]
        target[path[-1]] = value
    return change


SWAPPED = TRACE_LOG.notes[2].decode()  # a genuine checkpoint, of size 30
STRANGE = signed_checkpoint(TRACES_ORIGIN, 40, ANCHOR.root, STRANGER).decode()
OTHER_LOG = signed_checkpoint("city.example/credit", 40, ANCHOR.root, TRACES_SIGNER).decode()
FORGED = REPORT["checkpoint"][:-8] + ("A" if REPORT["checkpoint"][-8] != "A" else "B") \
    + REPORT["checkpoint"][-7:]
ALL = [(BAD_PROOF, *_entry(n)) for n in range(len(SELECTED))]

TAMPERING: list[tuple[str, Callable[[dict[str, Any]], object], list[tuple[Any, ...]]]] = [
    ("entry-changed", _set_entry(1, "payloadHash", h("forged")), [(BAD_PROOF, *_entry(1))]),
    ("entry-time-changed", _set_entry(4, "time", T0 + 1), [(BAD_PROOF, *_entry(4))]),
    ("entry-index-changed", _set(("entries", 2, "index"), 7),
     [(BAD_PROOF, 7, *_entry(2)[1:])]),
    ("proof-hash-changed", _flip_proof(3, 0), [(BAD_PROOF, *_entry(3))]),
    ("proof-truncated", lambda r: r["entries"][0]["proof"].pop(), [(BAD_PROOF, *_entry(0))]),
    ("checkpoint-swapped", _set(("checkpoint",), SWAPPED),
     [(ANCHORED_ROOT_DIFFERS, None, None, None), *ALL, (INCONSISTENT, None, None, None),
      (INCONSISTENT, None, None, None)]),
    ("checkpoint-signature-forged", _set(("checkpoint",), FORGED),
     [(SIGNATURE_INVALID, None, None, None)]),
    ("checkpoint-by-another-key", _set(("checkpoint",), STRANGE),
     [(UNKNOWN_KEY, None, None, None)]),
    ("checkpoint-of-another-log", _set(("checkpoint",), OTHER_LOG),
     [(WRONG_ORIGIN, None, None, None)]),
    ("anchored-root-changed", _set(("anchor", "root"), _b64(b"\x07" * 32)),
     [(ANCHORED_ROOT_DIFFERS, None, None, None)]),
    ("anchored-size-changed", _set(("anchor", "size"), 41),
     [(ANCHORED_ROOT_DIFFERS, None, None, None)]),
    ("consistency-proof-changed", _set(("consistency", 0, "root"), _b64(b"\x07" * 32)),
     [(INCONSISTENT, None, None, None)]),
    ("entry-outside-the-query", _set(("query", "subjectId"), "LOT-2024-0002"),
     [(QUERY_MISMATCH, *_entry(n)) for n in range(len(SELECTED))]),
    ("verified-with-findings", _set(("findings",), [{"code": MODIFIED, "detail": "x",
                                                     "index": 3}]),
     [(FINDINGS_INCONSISTENT, None, None, None)]),
    ("finding-misnames-an-entry", lambda r: (
        _set(("findings",), [{"code": MODIFIED, "detail": "x", "index": 3, "seq": 9}])(r),
        _set(("verified",), False)(r)), [(FINDINGS_INCONSISTENT, *_entry(1))]),
    ("entry-not-strict-json", _set_entry(0, "time", 1.5),
     [(MALFORMED, *_entry(0)), (QUERY_MISMATCH, *_entry(0))]),
]


@pytest.mark.parametrize(("change", "expected"), [t[1:] for t in TAMPERING],
                         ids=[t[0] for t in TAMPERING])
def test_a_tampered_report_is_invalid_naming_what(change: Callable[[dict[str, Any]], object],
                                                  expected: list[tuple[Any, ...]]) -> None:
    report = copy.deepcopy(REPORT)
    change(report)
    verdict = verify_report(report)
    assert not verdict.valid
    assert [(f.code, f.index, f.seq, f.entry_id) for f in verdict.failures] == expected


def test_the_verifier_can_pin_the_key_and_the_time() -> None:
    other = EXCHANGES_SIGNER.verifier().vkey()
    assert [f.code for f in verify_report(REPORT, log_key=other).failures] == [UNKNOWN_KEY]
    assert [f.code for f in verify_report(REPORT, now=T0).failures] == [GENERATED_LATER]


@pytest.mark.parametrize(("change", "field"), [
    (lambda r: r.pop("anchor"), "report.anchor"),
    (lambda r: r.__setitem__("extra", 1), "report"),
    (lambda r: r.__setitem__("type", "Something"), "report.type"),
    (lambda r: r["log"].__setitem__("verifierKey", "not a key"), "report.log.verifierKey"),
    (lambda r: r["anchor"].__setitem__("root", "***"), "report.anchor.root"),
    (lambda r: r["entries"][0].__setitem__("index", -1), "report.entries[0].index"),
    (lambda r: r["entries"][0]["proof"].__setitem__(0, 5), "report.entries[0].proof[0]"),
    (lambda r: r.__setitem__("findings", [{"code": "weird", "detail": "x"}]),
     "report.findings[0].code"),
    (lambda r: r.__setitem__("generatedAt", "yesterday"), "report.generatedAt"),
    (lambda r: r.__setitem__("verified", "yes"), "report.verified"),
    (lambda r: r["query"].__setitem__("color", "red"), "report.query"),
])
def test_what_is_not_a_report_is_a_format_error_naming_the_field(
        change: Callable[[dict[str, Any]], object], field: str) -> None:
    report = copy.deepcopy(REPORT)
    change(report)
    with pytest.raises(FormatError) as caught:
        verify_report(report)
    assert caught.value.field == field


def test_a_report_with_findings_verifies_when_they_name_the_right_entries() -> None:
    finding = Finding(MODIFIED, "row edited", index=SELECTED[1], seq=TRACES[SELECTED[1]].seq,
                      entry_id=TRACES[SELECTED[1]].event_id)
    report = make_report(findings=[finding])
    assert (report["verified"], report["findings"][0]["entryId"]) == (False, finding.entry_id)
    assert verify_report(report).valid


@pytest.mark.parametrize(("overrides", "message"), [
    ({"query": {"color": "red"}}, "query keys"),
    ({"anchored": AnchorOnChain(40, b"\x00" * 32, 42)}, "anchored_root_differs"),
    ({"entries": [(0, TRACE_LOG.entries[1], build_inclusion_proof(0, TRACE_LOG.leaves))]},
     "bad_proof"),
    ({"entries": [(0, TRACE_LOG.entries[0] + b" ", [])]}, "JCS"),
])
def test_build_refuses_a_report_that_would_not_verify(overrides: dict[str, Any],
                                                      message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        make_report(**overrides)


def test_html_escapes_entry_fields_and_needs_nothing_external() -> None:
    events = list(TRACES[:39])
    events.append(build_trace_event(
        event_id=uuid_urn(4242), subject_kind="WASTE_TRUCK",
        subject_id="E-A1234", event_type="WEIGHED", actor=MARKET, time=T0, payload_hash=h("w"),
        previous=TRACES[37]))
    log = make_log([trace_entry(e) for e in events], TRACES_ORIGIN, TRACES_SIGNER, sizes=(40,))
    # A department's free text cannot reach a trace; the query text and title can.
    evil = "<script>alert('x')</script>"
    report = build_report(
        title=evil, generated_at=T0, query={"subjectId": "E-A1234"},
        log_origin=TRACES_ORIGIN, log_vkey=VKEY,
        entries=[(39, log.entries[39], build_inclusion_proof(39, log.leaves))],
        checkpoint_note=log.notes[0], anchored=AnchorOnChain(40, log.root(40), 7),
        findings=[Finding(MODIFIED, evil, index=39, seq=events[39].seq,
                          entry_id=events[39].event_id)])
    report["entries"][0]["entry"]["payloadHash"] = evil  # a tampered report is shown too
    page = render_report_html(report)
    assert "<script" not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "src=" not in page and "href=" not in page and "http" not in page.replace(
        "http-equiv", "")
    for shown in ("E-A1234", "WEIGHED", "block", "citychain audit verify report.json",
                  "Content-Security-Policy", uuid_urn(4242)):
        assert shown in page


def test_html_of_the_sample_report_lists_every_entry_and_no_findings() -> None:
    page = render_report_html(REPORT)
    assert page.count("<details>") == len(SELECTED)
    assert "<td>2024-06-10T06:13:20Z</td><td>FOOD_LOT LOT-2024-0001</td><td>PRODUCED</td>" in page
    assert "None: the audit found the log consistent with its anchors." in page
    assert page.startswith("<!DOCTYPE html>") and page.endswith("</html>\n")
