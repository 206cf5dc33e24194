"""The regulator's audit: each kind of tampering is found, with its code and the entry named.

The sample logs hold 40 entries with signed checkpoints at sizes 10, 20, 30 and 40, all
anchored. Each case changes one thing in what the audit is given: the database rows, the
log tables' leaves, the signed checkpoints or the anchors.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from anchoring.merkle import build_consistency_proof, leaf_hash, root_from_leaf_hashes
from audit_trail.audit import AuditResult, audit_log
from audit_trail.chains import (
    CHAIN_BROKEN,
    CHECKPOINT_INVALID,
    INCONSISTENT_CHECKPOINTS,
    LEAF_MODIFIED,
    MISSING,
    MODIFIED,
    NOT_ANCHORED,
    NOT_IN_LOG,
    REORDERED,
    ROOT_MISMATCH,
)
from audit_trail.exchanges import build_exchange_record, exchange_entry
from audit_trail.traces import build_trace_event, trace_entry

from .samples import (
    EXCHANGE_LOG,
    EXCHANGES,
    EXCHANGES_ORIGIN,
    EXCHANGES_SIGNER,
    STRANGER,
    TRACE_LOG,
    TRACES,
    TRACES_ORIGIN,
    TRACES_SIGNER,
    SampleLog,
    make_log,
    signed_checkpoint,
)

Row = tuple[int, Any]


@dataclass
class Given:
    """What the audit is given; a case edits a copy."""

    rows: list[Row]
    leaves: list[tuple[int, bytes]]
    notes: list[bytes]
    anchored: dict[int, bytes]
    slice: tuple[int, int | None] = (0, None)
    extra: dict[str, Any] = field(default_factory=dict)


def given(log: SampleLog) -> Given:
    return Given(log.rows(), log.leaf_rows(), list(log.notes), dict(log.anchored))


def run(log: SampleLog, change: Callable[[Given], object], origin: str = EXCHANGES_ORIGIN,
        signer: Any = EXCHANGES_SIGNER) -> AuditResult:
    g = given(log)
    change(g)
    return audit_log(entries=g.rows, leaves=g.leaves, checkpoints=g.notes,
                     verifier=signer.verifier(), anchored=g.anchored, origin=origin,
                     first_index=g.slice[0], end_index=g.slice[1])


def edit_row(index: int, key: str = "legalBasis",
             value: Any = "No basis at all") -> Callable[[Given], object]:
    def change(g: Given) -> None:
        document = json.loads(g.rows[index][1])
        document[key] = value
        g.rows[index] = (index, json.dumps(document, sort_keys=True, separators=(",", ":")))
    return change


def swap_rows(a: int, b: int) -> Callable[[Given], object]:
    def change(g: Given) -> None:
        g.rows[a], g.rows[b] = (a, g.rows[b][1]), (b, g.rows[a][1])
    return change


def forked_root(size: int) -> bytes:
    """The root of another history: entry 22 written differently."""
    leaves = list(EXCHANGE_LOG.leaves)
    leaves[22] = leaf_hash(b"another entry 22")
    return root_from_leaf_hashes(leaves[:size])


def add_note(size: int, root: Callable[[int], bytes], signer: Any = EXCHANGES_SIGNER,
             anchor: bool = False) -> Callable[[Given], object]:
    def change(g: Given) -> None:
        g.notes.append(signed_checkpoint(EXCHANGES_ORIGIN, size, root(size), signer))
        if anchor:
            g.anchored[size] = root(size)
    return change


def forge_signature(position: int) -> Callable[[Given], object]:
    def change(g: Given) -> None:
        note = bytearray(g.notes[position])
        note[-6] ^= 0x01  # a base64 character of the signature
        g.notes[position] = bytes(note)
    return change


def _set(name: str, value: Any) -> Callable[[Given], object]:
    return lambda g: setattr(g, name, value)


CASES: list[tuple[str, Callable[[Given], object], list[tuple[str, int | None, int | None]]]] = [
    ("untouched", lambda g: None, []),
    ("rows-as-json-objects", lambda g: g.rows.__setitem__(
        slice(None), [(i, json.loads(e)) for i, e in g.rows]), []),
    ("row-edited", edit_row(13), [(MODIFIED, 13, None)]),
    ("row-deleted", lambda g: g.rows.pop(7), [(MISSING, 7, None)]),
    ("two-rows-reordered", swap_rows(21, 22), [(REORDERED, 21, None), (REORDERED, 22, None)]),
    ("rows-out-of-index-order", lambda g: g.rows.insert(9, g.rows.pop(5)),
     [(REORDERED, 5, None)]),
    ("leaf-edited", lambda g: g.leaves.__setitem__(12, (12, b"\x11" * 32)),
     [(ROOT_MISMATCH, None, 20), (ROOT_MISMATCH, None, 30), (ROOT_MISMATCH, None, 40),
      (LEAF_MODIFIED, 12, None)]),
    ("row-and-leaf-edited", lambda g: (edit_row(13)(g), g.leaves.__setitem__(
        25, (25, b"\x11" * 32))),
     [(ROOT_MISMATCH, None, 30), (ROOT_MISMATCH, None, 40), (MODIFIED, 13, None),
      (LEAF_MODIFIED, 25, None)]),
    ("row-edited-beside-a-fork", lambda g: (edit_row(21)(g), add_note(25, forked_root)(g)),
     [(INCONSISTENT_CHECKPOINTS, None, 25), (INCONSISTENT_CHECKPOINTS, None, 25),
      (NOT_ANCHORED, None, 25), (MODIFIED, 21, None)]),
    ("leaf-deleted", lambda g: g.leaves.pop(35),
     [(ROOT_MISMATCH, None, 40), (LEAF_MODIFIED, 35, None)]),
    ("log-tables-truncated", lambda g: g.leaves.__delitem__(slice(38, None)),
     [(ROOT_MISMATCH, None, 40), (NOT_IN_LOG, 38, None), (NOT_IN_LOG, 39, None)]),
    ("row-not-in-log", lambda g: g.rows.append((40, g.rows[0][1])),
     [(NOT_IN_LOG, 40, None)]),
    ("checkpoint-signature-forged", forge_signature(2), [(CHECKPOINT_INVALID, None, 30)]),
    ("checkpoint-by-another-key", add_note(35, EXCHANGE_LOG.root, STRANGER),
     [(CHECKPOINT_INVALID, None, 35)]),
    ("checkpoint-not-anchored", add_note(35, EXCHANGE_LOG.root), [(NOT_ANCHORED, None, 35)]),
    ("forked-checkpoint", add_note(25, forked_root),
     [(INCONSISTENT_CHECKPOINTS, None, 25), (INCONSISTENT_CHECKPOINTS, None, 25),
      (NOT_ANCHORED, None, 25)]),
    ("fork-at-a-signed-size", add_note(30, forked_root),
     [(INCONSISTENT_CHECKPOINTS, None, 30)]),
    ("fork-anchored", add_note(25, forked_root, anchor=True),
     [(INCONSISTENT_CHECKPOINTS, None, 25), (INCONSISTENT_CHECKPOINTS, None, 25),
      (ROOT_MISMATCH, None, 25)]),
    ("split-view", lambda g: g.anchored.__setitem__(30, forked_root(30)),
     [(INCONSISTENT_CHECKPOINTS, None, 30), (ROOT_MISMATCH, None, 30)]),
    ("nothing-anchored", lambda g: (g.anchored.clear(), g.notes.clear()),
     [(NOT_ANCHORED, None, None)]),
    ("a-slice-of-rows", lambda g: (_set("slice", (10, 20))(g),
                                   g.rows.__setitem__(slice(None), g.rows[10:20])), []),
    ("a-slice-missing-a-row", lambda g: (_set("slice", (10, 20))(g),
                                         g.rows.__setitem__(slice(None), g.rows[10:15]
                                                            + g.rows[16:20])),
     [(MISSING, 15, None)]),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_exchange_log_audit(change: Callable[[Given], object],
                            expected: list[tuple[str, int | None, int | None]]) -> None:
    result = run(EXCHANGE_LOG, change)
    assert [(f.code, f.index, f.size) for f in result.findings] == expected
    assert result.verified is (not expected)


def test_an_untouched_log_verifies_with_real_consistency_proofs() -> None:
    result = run(EXCHANGE_LOG, lambda g: None)
    assert (result.verified, result.log_size, result.entries_checked,
            result.checkpoints_verified, result.anchored_size) == (True, 40, 40, 4, 40)
    assert result.consistency_proofs == {
        (a, b): build_consistency_proof(a, EXCHANGE_LOG.leaves[:b])
        for a, b in [(10, 20), (20, 30), (30, 40)]}


def test_findings_name_the_entries_by_index_seq_and_detail() -> None:
    edited = run(EXCHANGE_LOG, edit_row(13)).findings[0]
    assert (edited.index, edited.seq) == (13, 13)
    assert "the leaves give the anchored root of size 20" in edited.detail
    reordered = run(EXCHANGE_LOG, swap_rows(21, 22)).findings
    assert [(f.index, f.seq) for f in reordered] == [(21, 22), (22, 21)]
    assert "holds the entry the log has at index 22" in reordered[0].detail
    missing = run(EXCHANGE_LOG, lambda g: g.rows.pop(7)).findings[0]
    assert EXCHANGE_LOG.leaves[7].hex() in missing.detail
    leaf = run(EXCHANGE_LOG, lambda g: g.leaves.__setitem__(12, (12, b"\x11" * 32))).findings
    assert "the log tables were edited" in leaf[0].detail


TRACE_CASES: list[tuple[str, Callable[[Given], object], list[tuple[str, int | None, str | None]]]] = [
    ("untouched", lambda g: None, []),
    ("event-edited", edit_row(4, "time", TRACES[4].time + 86400),
     [(MODIFIED, 4, TRACES[4].event_id)]),
    ("event-deleted", lambda g: g.rows.pop(9), [(MISSING, 9, None)]),
    ("events-swapped", lambda g: g.rows.__setitem__(
        slice(3, 5), [(3, g.rows[4][1]), (4, g.rows[3][1])]),
     [(REORDERED, 3, TRACES[4].event_id), (REORDERED, 4, TRACES[3].event_id)]),
]


@pytest.mark.parametrize(("change", "expected"), [c[1:] for c in TRACE_CASES],
                         ids=[c[0] for c in TRACE_CASES])
def test_trace_log_audit_names_the_event(change: Callable[[Given], object],
                                         expected: list[tuple[str, int | None, str | None]]
                                         ) -> None:
    result = run(TRACE_LOG, change, TRACES_ORIGIN, TRACES_SIGNER)
    assert [(f.code, f.index, f.entry_id) for f in result.findings] == expected


def test_a_broken_chain_in_the_log_itself_is_found() -> None:
    """The writer logged an event whose link is wrong: rows and leaves agree, the chain not."""
    events = list(TRACES[:9])
    bad = build_trace_event(event_id="urn:uuid:00000000-0000-4000-8000-00000000ffff",
                            subject_kind="FOOD_LOT", subject_id="LOT-2024-0001",
                            event_type="SOLD", actor=events[0].actor, time=events[8].time + 1,
                            payload_hash="00" * 32, previous=events[3])  # skips seq 2 (index 6)
    log = make_log([trace_entry(e) for e in [*events, bad]], TRACES_ORIGIN, TRACES_SIGNER,
                   sizes=(10,))
    result = run(log, lambda g: None, TRACES_ORIGIN, TRACES_SIGNER)
    assert [(f.code, f.index, f.seq, f.entry_id) for f in result.findings] == [
        (CHAIN_BROKEN, 9, 2, bad.event_id)]


def test_a_broken_exchange_chain_in_the_log_is_found_at_its_index() -> None:
    records = list(EXCHANGES[:5])
    records.append(build_exchange_record(records[2], **{
        k: getattr(EXCHANGES[5], k) for k in ("kind", "time", "requester", "provider",
                                             "dataset", "subject_hash", "purpose",
                                             "legal_basis", "result_hash", "decision",
                                             "reason", "consent_id")}))
    log = make_log([exchange_entry(r) for r in records], EXCHANGES_ORIGIN, EXCHANGES_SIGNER,
                   sizes=(6,))
    result = run(log, lambda g: None)
    assert [(f.code, f.index, f.seq) for f in result.findings] == [(CHAIN_BROKEN, 5, 3)]


def test_leaves_must_come_in_index_order() -> None:
    with pytest.raises(ValueError, match="ascend"):
        run(EXCHANGE_LOG, lambda g: g.leaves.insert(3, g.leaves.pop(6)))


def test_a_larger_log_streams_through_chunks() -> None:
    """More leaves than one fold chunk (4096), checkpoints on and off chunk edges."""
    entries = [exchange_entry(r) for r in _many_exchanges(9000)]
    log = make_log(entries, EXCHANGES_ORIGIN, EXCHANGES_SIGNER, sizes=(4096, 5000, 8192, 9000))
    assert run(log, lambda g: None).verified
    result = run(log, edit_row(6001))
    assert [(f.code, f.index) for f in result.findings] == [(MODIFIED, 6001)]


def _many_exchanges(count: int) -> list[Any]:
    records = [EXCHANGES[0]]
    template = {k: getattr(EXCHANGES[1], k) for k in (
        "kind", "time", "requester", "provider", "dataset", "subject_hash", "purpose",
        "legal_basis", "result_hash", "decision", "reason", "consent_id")}
    while len(records) < count:
        records.append(build_exchange_record(records[-1], **template))
    return records
