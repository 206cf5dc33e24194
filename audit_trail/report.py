"""A self-contained audit report, and its offline re-verification.

A report carries everything a third party needs to check it with nothing else: the
log's verifier key, the signed checkpoint, the chain anchor (size, root, block) it
claims, each selected entry in full with its inclusion proof against that checkpoint,
consistency proofs from earlier anchored checkpoints, and the audit's findings. The
only thing left to the reader is to look the anchor up on chain (block number given)
and, ideally, to pin the log key from a source other than the report (``log_key``).

Hashes are standard base64, as in C2SP checkpoints and ``anchoring.verification``
bundles; the failure codes are those of ``anchoring.verification`` for the same checks.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from anchoring.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from anchoring.errors import AnchoringError, InvalidProof, MalformedNote, SignatureError
from anchoring.merkle import HASH_SIZE, leaf_hash, verify_consistency, verify_inclusion
from anchoring.note import Ed25519Verifier, parse_note, parse_vkey
from anchoring.worker import AnchorOnChain
from audit_trail.audit import EntryInput
from audit_trail.chains import Finding, StrictReader, entry_names, load_entry_json
from license_registry.errors import FormatError, InvalidInput
from license_registry.jcs import canonicalize
from license_registry.presented import datetime_text, parse_datetime_text

REPORT_TYPE = "CityChainAuditReport"
REPORT_VERSION = 1
VERIFY_COMMAND = "citychain audit verify report.json"
# Query keys and the entry fields each must equal (any one of them, for a department).
QUERY_FIELDS: Mapping[str, tuple[str, ...]] = {
    "kind": ("kind",), "subjectKind": ("subjectKind",), "subjectId": ("subjectId",),
    "subjectHash": ("subjectHash",), "department": ("actor", "requester", "provider"),
    "dataset": ("dataset",),
}
QUERY_TIMES = ("timeFrom", "timeUntil")  # unix seconds, from inclusive, until exclusive
_KEYS = frozenset({"type", "version", "title", "generatedAt", "query", "log", "checkpoint",
                   "anchor", "consistency", "entries", "findings", "verified", "howToVerify"})

# Failure codes: anchoring.verification's for the same checks, then the report's own.
MALFORMED = "malformed"
UNKNOWN_KEY = "unknown_key"
SIGNATURE_INVALID = "signature_invalid"
WRONG_ORIGIN = "wrong_origin"
BAD_PROOF = "bad_proof"
ANCHORED_ROOT_DIFFERS = "anchored_root_differs"
INCONSISTENT = "inconsistent"
QUERY_MISMATCH = "query_mismatch"  # an entry outside the query the report states
FINDINGS_INCONSISTENT = "findings_inconsistent"  # findings contradict the report
GENERATED_LATER = "generated_later"  # dated after the verifier's now


@dataclass(frozen=True)
class ReportFailure:
    code: str
    detail: str
    index: int | None = None
    seq: int | None = None
    entry_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        names = {"index": self.index, "seq": self.seq, "entryId": self.entry_id}
        return {"code": self.code, "detail": self.detail,
                **{k: v for k, v in names.items() if v is not None}}


@dataclass(frozen=True)
class ReportVerdict:
    failures: tuple[ReportFailure, ...]
    checkpoint_size: int | None
    anchored_block: int | None
    entries_verified: int  # entries whose inclusion proof held

    @property
    def valid(self) -> bool:
        return not self.failures

    def to_json(self) -> dict[str, Any]:
        return {"verdict": "valid" if self.valid else "invalid",
                "failures": [f.to_json() for f in self.failures],
                "checkpointSize": self.checkpoint_size, "anchoredBlock": self.anchored_block,
                "entriesVerified": self.entries_verified,
                "remaining": f"look up the anchor at block {self.anchored_block} on chain"}


def build_report(*, title: str, generated_at: int, query: Mapping[str, object], log_origin: str,
                 log_vkey: str, entries: Iterable[tuple[int, EntryInput, Sequence[bytes]]],
                 checkpoint_note: bytes | str, anchored: AnchorOnChain,
                 anchor_tx: str | None = None,
                 consistency: Iterable[tuple[AnchorOnChain, Sequence[bytes]]] = (),
                 findings: Iterable[Finding] = ()) -> dict[str, Any]:
    """The report as a JSON object; InvalidInput if it would not pass ``verify_report``.

    ``entries`` are (log index, entry, inclusion proof against the checkpoint);
    ``consistency`` are earlier anchors with the proof from their size to this one.
    """
    unknown = sorted(set(query) - set(QUERY_FIELDS) - set(QUERY_TIMES))
    if unknown:
        raise InvalidInput(f"query keys {unknown} are not among "
                           f"{sorted([*QUERY_FIELDS, *QUERY_TIMES])}", field="query")
    anchor: dict[str, Any] = {"size": anchored.size, "root": _b64(anchored.root),
                              "blockNumber": anchored.block_number}
    if anchor_tx is not None:
        anchor["transaction"] = anchor_tx
    finding_list = [f.to_json() for f in findings]
    report = {
        "type": REPORT_TYPE, "version": REPORT_VERSION, "title": title,
        "generatedAt": datetime_text(generated_at), "query": dict(query),
        "log": {"origin": log_origin, "verifierKey": log_vkey},
        "checkpoint": checkpoint_note.decode() if isinstance(checkpoint_note, bytes)
        else checkpoint_note,
        "anchor": anchor,
        "consistency": [{"size": a.size, "root": _b64(a.root), "blockNumber": a.block_number,
                         "proof": [_b64(p) for p in proof]} for a, proof in consistency],
        "entries": [{"index": index, "entry": _entry_object(entry, index),
                     "proof": [_b64(p) for p in proof]} for index, entry, proof in entries],
        "findings": finding_list, "verified": not finding_list,
        "howToVerify": VERIFY_COMMAND,
    }
    canonicalize(report)  # only strict JSON: the report must read the same everywhere
    verdict = verify_report(report)
    if not verdict.valid:
        raise InvalidInput("the report would not verify: " + "; ".join(
            f"{f.code} {f.detail}" for f in verdict.failures), field="report")
    return report


def verify_report(report: object, *, now: int | None = None,
                  log_key: str | None = None) -> ReportVerdict:
    """Re-check a report offline. FormatError ``bad_report`` if it is not a report at all;
    otherwise a verdict listing every failure, naming the entries at fault.

    ``now`` (unix seconds) refuses reports dated later; ``log_key`` pins the log's
    verifier key instead of trusting the one in the report.
    """
    r = StrictReader(report, "report", "bad_report", _KEYS - {"howToVerify"}, {"howToVerify"})
    doc = r.document
    if doc["type"] != REPORT_TYPE or doc["version"] != REPORT_VERSION:
        r.fail("type", f"must be {REPORT_TYPE!r} version {REPORT_VERSION}")
    failures: list[ReportFailure] = []
    generated = r.convert("generatedAt", parse_datetime_text)
    if now is not None and generated > now:
        failures.append(ReportFailure(GENERATED_LATER, f"dated {doc['generatedAt']}, after "
                                      f"{datetime_text(now)}"))
    log = StrictReader(doc["log"], "report.log", "bad_report", {"origin", "verifierKey"})
    origin = log.text("origin")
    vkey_text = log.text("verifierKey")
    vkey = log.convert("verifierKey", _parse_vkey)
    if log_key is not None and vkey_text != log_key:
        failures.append(ReportFailure(UNKNOWN_KEY, f"the report's log key {vkey_text!r} is not "
                                      f"the pinned key {log_key!r}"))
    if not isinstance(doc["checkpoint"], str):
        r.fail("checkpoint", "must be the signed checkpoint note as text")
    checkpoint = _open(doc["checkpoint"].encode(), vkey, failures)
    anchor = StrictReader(doc["anchor"], "report.anchor", "bad_report",
                          {"size", "root", "blockNumber"}, {"transaction"})
    anchored = AnchorOnChain(anchor.count("size"), _hash(anchor, "root"),
                             anchor.count("blockNumber"))
    anchor.optional_text("transaction")
    if checkpoint is not None and checkpoint.origin != origin:
        failures.append(ReportFailure(WRONG_ORIGIN, f"checkpoint is of {checkpoint.origin!r}, "
                                      f"the report of {origin!r}"))
    if checkpoint is not None and (anchored.size, anchored.root) != (checkpoint.size,
                                                                      checkpoint.root):
        failures.append(ReportFailure(ANCHORED_ROOT_DIFFERS, f"anchored size {anchored.size} "
                                      f"root {_b64(anchored.root)}; the checkpoint has size "
                                      f"{checkpoint.size} root {_b64(checkpoint.root)}"))
    tree = checkpoint or Checkpoint(origin, anchored.size, anchored.root)
    names, verified = _check_entries(r, tree, _query(r), failures)
    for n, item in enumerate(_list(r, "consistency")):
        c = StrictReader(item, f"report.consistency[{n}]", "bad_report",
                         {"size", "root", "proof"}, {"blockNumber"})
        size = c.count("size")
        c.optional_count("blockNumber")
        try:
            verify_consistency(size, tree.size, _proof(c, "proof"), _hash(c, "root"), tree.root)
        except InvalidProof as exc:
            failures.append(ReportFailure(INCONSISTENT, f"anchor of size {size} -> size "
                                          f"{tree.size}: {exc}"))
    failures.extend(_finding_problems(r, names))
    return ReportVerdict(tuple(failures), None if checkpoint is None else checkpoint.size,
                         anchored.block_number, verified)


def _check_entries(r: StrictReader, tree: Checkpoint, query: Mapping[str, object],
                   failures: list[ReportFailure]
                   ) -> tuple[dict[int, tuple[int | None, str | None]], int]:
    """Each entry's inclusion in ``tree`` and its match with the query; returns the
    entries' names by index and how many proofs held."""
    names: dict[int, tuple[int | None, str | None]] = {}
    verified = 0
    for n, item in enumerate(_list(r, "entries")):
        e = StrictReader(item, f"report.entries[{n}]", "bad_report", {"index", "entry", "proof"})
        index, entry = e.count("index"), e.document["entry"]
        seq, entry_id = entry_names(entry)
        names[index] = (seq, entry_id)
        proof = _proof(e, "proof")
        try:
            verify_inclusion(leaf_hash(canonicalize(entry)), index, tree.size, proof, tree.root)
            verified += 1
        except InvalidProof as exc:
            failures.append(ReportFailure(BAD_PROOF, f"entry at index {index}: {exc}", index,
                                          seq, entry_id))
        except FormatError as exc:
            failures.append(ReportFailure(MALFORMED, f"entry at index {index}: {exc.message}",
                                          index, seq, entry_id))
        for problem in _query_problems(query, entry):
            failures.append(ReportFailure(QUERY_MISMATCH, f"entry at index {index}: {problem}",
                                          index, seq, entry_id))
    return names, verified


def _open(note: bytes, vkey: Ed25519Verifier,
          failures: list[ReportFailure]) -> Checkpoint | None:
    """The checkpoint the note claims; a failure (anchoring's reason code) unless the key
    signed it. An unsigned body is still returned, so entry failures are listed too."""
    try:
        parsed = parse_note(note)
        checkpoint = parse_checkpoint_body(parsed.text)
    except AnchoringError as exc:
        failures.append(ReportFailure(MALFORMED, f"checkpoint: {exc}"))
        return None
    if not any((s.name, s.key_id) == (vkey.name, vkey.key_id) for s in parsed.signatures):
        failures.append(ReportFailure(UNKNOWN_KEY, "the checkpoint is not signed by the "
                                      "report's log key"))
        return checkpoint
    try:
        open_checkpoint(note, [vkey])
    except SignatureError as exc:
        failures.append(ReportFailure(SIGNATURE_INVALID, f"checkpoint: {exc}"))
    return checkpoint


def _finding_problems(r: StrictReader, names: Mapping[int, tuple[int | None, str | None]]
                      ) -> list[ReportFailure]:
    found = [Finding.from_json(item, f"report.findings[{n}]")
             for n, item in enumerate(_list(r, "findings"))]
    failures = []
    if not isinstance(r.document["verified"], bool):
        r.fail("verified", "must be true or false")
    if r.document["verified"] is not (not found):
        failures.append(ReportFailure(FINDINGS_INCONSISTENT, f"verified is "
                                      f"{r.document['verified']!r} with {len(found)} findings"))
    for f in found:
        if f.index is None or f.index not in names:
            continue
        seq, entry_id = names[f.index]
        if (f.seq is not None and f.seq != seq) or (f.entry_id is not None
                                                    and f.entry_id != entry_id):
            failures.append(ReportFailure(FINDINGS_INCONSISTENT, f"finding {f.code} names seq "
                                          f"{f.seq} / {f.entry_id} at index {f.index}; the entry "
                                          f"there is seq {seq} / {entry_id}", f.index, seq,
                                          entry_id))
    return failures


def _query(r: StrictReader) -> Mapping[str, object]:
    query = StrictReader(r.document["query"], "report.query", "bad_report", set(),
                         {*QUERY_FIELDS, *QUERY_TIMES})
    for key in QUERY_TIMES:
        query.optional_count(key)
    for key in QUERY_FIELDS:
        query.optional_text(key)
    return query.document


def _query_problems(query: Mapping[str, object], entry: object) -> list[str]:
    if not isinstance(entry, Mapping):
        return ["is not a JSON object"]
    problems = [f"{key} {query[key]!r} matches none of {list(fields)}"
                for key, fields in QUERY_FIELDS.items()
                if key in query and all(entry.get(f) != query[key] for f in fields)]
    time = entry.get("time")
    start, until = query.get("timeFrom"), query.get("timeUntil")
    if (start is not None or until is not None) and not isinstance(time, int):
        problems.append("has no time")
    elif isinstance(time, int) and ((isinstance(start, int) and time < start)
                                    or (isinstance(until, int) and time >= until)):
        problems.append(f"time {time} is outside [{start}, {until})")
    return problems


def _entry_object(entry: EntryInput, index: int) -> dict[str, Any]:
    """The entry as a JSON object whose JCS bytes are exactly the logged entry."""
    if isinstance(entry, Mapping):
        return dict(entry)
    data = entry.encode() if isinstance(entry, str) else bytes(entry)
    value = load_entry_json(data, "bad_entry")
    if not isinstance(value, dict) or canonicalize(value) != data:
        raise InvalidInput(f"entry at index {index} is not a JSON object in JCS form",
                           field="entries")
    return value


def _list(r: StrictReader, key: str) -> list[object]:
    value = r.document[key]
    if not isinstance(value, list):
        r.fail(key, "must be a list")
    return value


def _proof(r: StrictReader, key: str) -> list[bytes]:
    value = r.document[key]
    if not isinstance(value, list):
        r.fail(key, "must be a list of base64 hashes")
    return [_decode_b64(r, f"{key}[{n}]", item) for n, item in enumerate(value)]


def _hash(r: StrictReader, key: str) -> bytes:
    raw = _decode_b64(r, key, r.document[key])
    if len(raw) != HASH_SIZE:
        r.fail(key, f"is {len(raw)} bytes, want {HASH_SIZE}")
    return raw


def _decode_b64(r: StrictReader, key: str, value: object) -> bytes:
    try:
        if not isinstance(value, str):
            raise ValueError("not a string")
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        r.fail(key, "must be standard base64")


def _parse_vkey(value: object) -> Ed25519Verifier:
    if not isinstance(value, str):
        raise FormatError("must be a verifier key name+keyid+base64")
    try:
        return parse_vkey(value)
    except MalformedNote as exc:  # StrictReader names the field for domain errors only
        raise FormatError(str(exc)) from None


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()
