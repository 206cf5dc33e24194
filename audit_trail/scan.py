"""The streaming pass of an audit: rows and leaves side by side, once, in index order.

Kept in memory: the right edge of each tree being folded (about log2 n hashes), the few
complete nodes later roots and proofs need, the mismatches found, and one link per hash
chain (O(subjects) for traces, O(1) for exchanges) — never the entries themselves.

Blame is settled as the stream passes each reference size (anchored or signed): the
"truth" tree (the log's leaves, corrected where already settled) and a "candidate" tree
(truth with the rows' leaves at the unsettled mismatches) are compared with the root
there. Truth matches: the rows were edited. Candidate matches: the log tables were.
Neither: keep both until a later root settles it (a fork is no ground truth).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from anchoring.errors import LogError
from anchoring.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hash
from anchoring.tiles import NodeId, ProofPlan, assemble, compact_range, extend_edge, fold_right
from audit_trail.chains import (
    MALFORMED_ENTRY,
    NOT_IN_LOG,
    REORDERED,
    ChainLink,
    Finding,
    chain_hash,
    entry_names,
    find_link_problem,
)
from license_registry.errors import FormatError
from license_registry.jcs import canonicalize

EntryInput = bytes | str | Mapping[str, Any]
"""A row re-encoded as its log entry: the JCS bytes, their text, or the JSON object."""

PLACEHOLDER = bytes(HASH_SIZE)  # stands in for an absent or malformed stored leaf
ROWS_EDITED, LEAVES_EDITED = "rows", "leaves"  # what a settled mismatch blames
_CHUNK = 4096  # leaves hashed into the edge per extend_edge call
_decode_json = json.JSONDecoder().decode
_CHAINED = {"trace": "prevEventHash", "exchange": "prevHash", "credit_query": "prevHash"}


class TreeFold:
    """An RFC 9162 tree grown leaf by leaf that keeps only its right edge and the complete
    nodes named in ``wanted`` (tree roots at given sizes, proof nodes)."""

    def __init__(self, wanted: set[NodeId]) -> None:
        self.wanted = wanted
        self.kept: dict[NodeId, bytes] = {}
        self.size = 0  # leaves folded into the edge (pending ones not counted)
        self.edge: list[bytes] = []  # hashes of compact_range(size)
        self.pending: list[bytes] = []

    def push(self, leaf: bytes) -> None:
        self.pending.append(leaf)
        if len(self.pending) >= _CHUNK:
            self.flush()

    def flush(self) -> None:
        appended = extend_edge(self.size, self.edge, self.pending)
        wanted, kept = self.wanted, self.kept
        for node, value in appended.nodes:
            if node in wanted:
                kept[node] = value
        self.size, self.edge, self.pending = appended.new_size, appended.edge, []

    def copy(self) -> TreeFold:
        self.flush()
        twin = TreeFold(self.wanted)
        twin.kept, twin.size, twin.edge = dict(self.kept), self.size, list(self.edge)
        return twin

    def current_root(self) -> bytes:
        self.flush()
        return fold_right(self.edge)

    def root(self, size: int) -> bytes | None:
        """MTH of the first ``size`` leaves (None if the tree never reached that size)."""
        if size > self.size:
            return None
        ids = compact_range(size)
        return assemble([ids], self.kept)[0] if ids else EMPTY_ROOT

    def proof(self, plan: ProofPlan) -> list[bytes] | None:
        try:
            return assemble(plan, self.kept)
        except LogError:
            return None


@dataclass
class Mismatch:
    row_leaf: bytes | None  # leaf hash of the row at this index (None: no row)
    stored: bytes | None  # the log tables' leaf (None: none)
    seq: int | None = None
    entry_id: str | None = None
    late_after: int | None = None  # the row came after this index in the row order
    blame: str | None = None  # ROWS_EDITED or LEAVES_EDITED once a root settles it
    settled_by: int | None = None  # the size whose root settled it


class LogScan:
    """One pass over rows and leaves; ``_step`` is the hot path of an audit."""

    def __init__(self, wanted: set[NodeId], refs: Mapping[int, bytes], first: int,
                 end: int | None, findings: list[Finding]) -> None:
        self.log = TreeFold(wanted)  # the log tables' leaves, as they are
        self.truth: TreeFold | None = None  # None: the same as the log so far
        self.candidate: TreeFold | None = None  # None: no unsettled mismatch
        self.refs, self.ref_sizes = refs, iter(sorted(refs))
        self.next_ref = next(self.ref_sizes, -1)
        self.first, self.end, self.findings = first, end, findings
        self.mismatches: dict[int, Mismatch] = {}
        self.unsettled: list[int] = []
        self.chains: dict[tuple[Any, ...], tuple[ChainLink, int]] = {}
        self.anomalies = 0  # indices flagged so far: a link across one is not judged
        self.checked = 0

    def run(self, entries: Iterator[tuple[int, EntryInput]],
            leaves: Iterable[tuple[int, bytes]]) -> None:
        pending, n = next(entries, None), 0
        for index, stored in leaves:
            if index < n:
                raise ValueError(f"leaf index {index} after {n - 1}: leaves must ascend")
            while n <= index:
                pending = self._step(n, stored if n == index else None, pending, entries)
                n += 1
                if n == self.next_ref:
                    self._settle(n)
        for fold in self.folds():
            fold.flush()
        while pending is not None:  # rows past the log's last leaf
            seq, entry_id = entry_names(_decode(pending[1])[1])
            self.findings.append(Finding(NOT_IN_LOG, f"the log has {n} leaves; no leaf at "
                                         f"index {pending[0]}", pending[0], seq, entry_id))
            pending = next(entries, None)

    def folds(self) -> list[TreeFold]:
        return [f for f in (self.log, self.truth, self.candidate) if f is not None]

    def truth_root(self, size: int) -> bytes | None:
        return (self.truth or self.log).root(size)

    def _step(self, i: int, stored: bytes | None, pending: tuple[int, EntryInput] | None,
              entries: Iterator[tuple[int, EntryInput]]) -> tuple[int, EntryInput] | None:
        row: EntryInput | None = None
        while pending is not None and pending[0] <= i:
            if pending[0] < i or row is not None:
                self._late(pending[0], pending[1], i)
            else:
                row = pending[1]
            pending = next(entries, None)
        if stored is not None and len(stored) != HASH_SIZE:
            stored = PLACEHOLDER
        if row is None:
            if stored is None or (self.first <= i and (self.end is None or i < self.end)):
                self._flag(i, Mismatch(None, stored))
            self._push(stored or PLACEHOLDER, stored or PLACEHOLDER)
            return pending
        self.checked += 1
        data, obj = _decode(row)
        leaf = leaf_hash(data)
        flagged = leaf != stored
        if flagged:
            if self.candidate is None:  # it was the truth until now
                self.candidate = (self.truth or self.log).copy()
            self._flag(i, Mismatch(leaf, stored, *entry_names(obj)))
            self.unsettled.append(i)
        self._push(stored or PLACEHOLDER, leaf)
        self._follow_chain(i, data, obj, flagged)
        return pending

    def _push(self, stored: bytes, row_leaf: bytes) -> None:
        self.log.push(stored)
        if self.truth is not None:
            self.truth.push(stored)
        if self.candidate is not None:
            self.candidate.push(row_leaf)

    def _flag(self, i: int, mismatch: Mismatch) -> None:
        self.mismatches[i] = mismatch
        self.anomalies += 1

    def _settle(self, size: int) -> None:
        self.next_ref = next(self.ref_sizes, -1)
        if self.candidate is None or not self.unsettled:
            return
        ref = self.refs[size]
        if (self.truth or self.log).current_root() == ref:
            blame = ROWS_EDITED
        elif self.candidate.current_root() == ref:
            blame, self.truth = LEAVES_EDITED, self.candidate
        else:
            return  # both differ: a later root may settle it
        for i in self.unsettled:
            self.mismatches[i].blame, self.mismatches[i].settled_by = blame, size
        self.unsettled, self.candidate = [], None

    def _late(self, index: int, row: EntryInput, after: int) -> None:
        """A row out of index order (or a second row for one index)."""
        data, obj = _decode(row)
        seq, entry_id = entry_names(obj)
        earlier = self.mismatches.get(index)
        if earlier is not None and earlier.row_leaf is None and earlier.stored is not None:
            self.mismatches[index] = Mismatch(leaf_hash(data), earlier.stored, seq, entry_id,
                                              late_after=after)
            return
        self.anomalies += 1
        if self.first <= index and (self.end is None or index < self.end):
            self.findings.append(Finding(NOT_IN_LOG, f"a second row claims index {index}; "
                                         "the log holds one entry there", index, seq, entry_id))
        else:
            self.findings.append(Finding(REORDERED, f"the row for index {index} comes after "
                                         f"index {after} in the database's order", index, seq,
                                         entry_id))

    def _follow_chain(self, i: int, data: bytes, obj: object, flagged: bool) -> None:
        # ``type() is`` rather than isinstance: this runs once per entry (JSON gives exact
        # types), and a value of the wrong type must not reach a dict key (lists are
        # unhashable).
        if type(obj) is not dict:
            if not flagged:
                self.findings.append(Finding(MALFORMED_ENTRY, "the log holds an entry that is "
                                             "not a JSON object", i))
            return
        kind = obj.get("kind")
        prev_key = _CHAINED.get(kind) if type(kind) is str else None
        if prev_key is None:
            return  # credit records and other entries carry no chain
        seq, prev = obj.get("seq"), obj.get(prev_key)
        key: tuple[Any, ...] = ("exchange",)  # one chain for the whole exchanges log
        bad_key = False
        if kind == "trace":
            subject_kind, subject_id = obj.get("subjectKind"), obj.get("subjectId")
            key = ("trace", subject_kind, subject_id)
            bad_key = type(subject_kind) is not str or type(subject_id) is not str
        if type(seq) is not int or not (prev is None or type(prev) is str) or bad_key:
            if not flagged:
                self.findings.append(Finding(MALFORMED_ENTRY, "seq, previous hash or subject "
                                             "has the wrong type", i, None, entry_names(obj)[1]))
            return
        last = self.chains.get(key)
        # A link is judged only between entries that match the log, with no anomaly
        # between them: an edited row would otherwise also blame its innocent successor.
        if not flagged and (last is None and seq == 0 or last and last[1] == self.anomalies):
            problem = find_link_problem(last[0] if last else None, seq, prev)
            if problem is not None:
                self.findings.append(Finding(problem[0], problem[1], i, seq,
                                             entry_names(obj)[1]))
        self.chains[key] = (ChainLink(seq, chain_hash(data)), -1 if flagged else self.anomalies)


def _decode(row: EntryInput) -> tuple[bytes, object]:
    """The entry bytes of a row and their JSON value (None when they are not JSON)."""
    if isinstance(row, Mapping):
        try:
            return canonicalize(row), row
        except FormatError:
            return b"", row  # cannot be a logged entry: it will not match its leaf
    data = row.encode() if isinstance(row, str) else bytes(row)
    try:
        return data, _decode_json(data.decode())  # entries are UTF-8 (JCS)
    except ValueError:  # also UnicodeDecodeError
        return data, None
