"""The regulator's audit of one log: database rows against the log's leaves, its signed
checkpoints and the roots anchored on chain.

Three witnesses of one history are compared. The chain's anchored roots are the ground
truth; signed checkpoints are the log's own word; the log tables (leaf hashes) and the
business rows (re-encoded to entry bytes) are what an insider could edit. Where the
rows and the leaves disagree, the anchored root says which was edited: if the log's
leaves still give it, the row was changed (``modified``); if the rows do, the leaf was
(``leaf_modified``).

Built to stream (``audit_trail.scan``): about 10^5 entries a second on one core, in a
few MiB whatever the log's size (plus about 0.4 KiB per trace subject); the proofs and
roots come from ``anchoring.tiles`` plans and ``anchoring.merkle`` verifiers.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from anchoring.checkpoint import Checkpoint, open_checkpoint, parse_checkpoint_body
from anchoring.errors import AnchoringError, InvalidProof
from anchoring.merkle import verify_consistency
from anchoring.note import Verifier, parse_note
from anchoring.tiles import ProofPlan, compact_range, plan_consistency, plan_nodes
from audit_trail.chains import (
    CHECKPOINT_INVALID,
    INCONSISTENT_CHECKPOINTS,
    LEAF_MODIFIED,
    MISSING,
    MODIFIED,
    NOT_ANCHORED,
    NOT_IN_LOG,
    REORDERED,
    ROOT_MISMATCH,
    Finding,
)
from audit_trail.scan import LEAVES_EDITED, ROWS_EDITED, EntryInput, LogScan, Mismatch

__all__ = ["AuditResult", "EntryInput", "audit_log", "classify"]


@dataclass(frozen=True)
class AuditResult:
    findings: list[Finding]
    log_size: int  # leaves in the log tables
    entries_checked: int
    checkpoints_verified: int
    anchored_size: int  # largest anchored size: later entries are not anchored yet
    consistency_proofs: dict[tuple[int, int], list[bytes]] = field(default_factory=dict)

    @property
    def verified(self) -> bool:
        return not self.findings


def audit_log(*, entries: Iterable[tuple[int, EntryInput]], leaves: Iterable[tuple[int, bytes]],
              checkpoints: Iterable[bytes | str], verifier: Verifier,
              anchored: Mapping[int, bytes], origin: str | None = None,
              first_index: int = 0, end_index: int | None = None) -> AuditResult:
    """Audit a log; ``entries`` and ``leaves`` are (index, value) in ascending index order.

    ``entries`` may be a slice: indices in ``[first_index, end_index)`` without a row are
    ``missing``. ``leaves`` must be every leaf from index 0 (roots need all of them).
    ``anchored`` maps sizes to the roots the chain holds for this log.
    """
    findings: list[Finding] = []
    signed = _open_checkpoints(checkpoints, verifier, origin, anchored, findings)
    pairs = list(zip(signed, signed[1:], strict=False))
    plans = {(a.size, b.size): plan_consistency(a.size, b.size) for a, b in pairs if a.size}
    wanted = {n for s in {*anchored, *(c.size for c in signed)} for n in compact_range(s)}
    for plan in plans.values():
        wanted |= plan_nodes(plan)
    refs = {**{c.size: c.root for c in signed}, **anchored}  # the chain outranks signatures
    scan = LogScan(wanted, refs, first_index, end_index, findings)
    scan.run(iter(entries), leaves)
    proofs = _judge_checkpoints(scan, signed, pairs, plans, anchored, findings)
    findings.extend(classify(scan.mismatches))
    if scan.log.size and not anchored:  # rows matching leaves prove nothing on their own
        findings.append(Finding(NOT_ANCHORED, f"none of the log's {scan.log.size} entries is "
                                "covered by an anchored root"))
    findings.sort(key=lambda f: (f.index is not None, f.index or 0, f.size or 0, f.code))
    return AuditResult(findings, scan.log.size, scan.checked, len(signed),
                       max((s for s in anchored if s <= scan.log.size), default=0), proofs)


def _open_checkpoints(notes: Iterable[bytes | str], verifier: Verifier, origin: str | None,
                      anchored: Mapping[int, bytes], findings: list[Finding]) -> list[Checkpoint]:
    """The validly signed checkpoints, one per size, sorted; the rest become findings."""
    by_size: dict[int, dict[bytes, Checkpoint]] = {}
    for n, note in enumerate(notes):
        raw = note.encode() if isinstance(note, str) else note
        try:
            checkpoint = open_checkpoint(raw, [verifier])[0]
            if origin is not None and checkpoint.origin != origin:
                raise AnchoringError(f"origin {checkpoint.origin!r} is not {origin!r}")
        except AnchoringError as exc:
            findings.append(Finding(CHECKPOINT_INVALID, f"checkpoint #{n}: {exc}",
                                    size=_claimed_size(raw)))
            continue
        by_size.setdefault(checkpoint.size, {})[checkpoint.root] = checkpoint
    chosen = []
    for size, roots in sorted(by_size.items()):
        if len(roots) > 1:  # two signed roots for one size: the log signed a fork
            findings.append(Finding(INCONSISTENT_CHECKPOINTS, f"the log signed {len(roots)} "
                                    f"roots for size {size}: " + ", ".join(map(_hex, roots)),
                                    size=size))
        chosen.append(roots.get(anchored.get(size, b""), next(iter(roots.values()))))
    return chosen


def classify(mismatches: Mapping[int, Mismatch]) -> list[Finding]:
    """Findings for the indices where rows and leaves disagree. It needs them all at once:
    a swap shows at both indices, each holding the other's entry."""
    stored_at = {m.stored: i for i, m in mismatches.items() if m.stored}
    row_at = {m.row_leaf: i for i, m in mismatches.items() if m.row_leaf}
    findings = []
    for i, m in mismatches.items():
        moved = stored_at.get(m.row_leaf) if m.row_leaf else None
        if m.row_leaf is None and m.stored is None:
            code, detail = LEAF_MODIFIED, f"the log tables have no leaf at index {i}"
        elif m.row_leaf is None:
            code, detail = MISSING, (f"the log holds leaf {_hex(m.stored)} at index {i}; the "
                                     "database has no row for it")
            if m.stored in row_at:
                detail += f" (its entry is at index {row_at[m.stored]})"
        elif m.late_after is not None and m.row_leaf == m.stored:
            code, detail = REORDERED, (f"the row for index {i} comes after index "
                                       f"{m.late_after} in the database's order")
        elif moved is not None and moved != i:
            code, detail = REORDERED, (f"the row at index {i} holds the entry the log has at "
                                       f"index {moved}")
        elif m.blame == ROWS_EDITED:
            code, detail = MODIFIED, (f"the row at index {i} hashes to {_hex(m.row_leaf)}, the "
                                      f"log leaf is {_hex(m.stored)} (the leaves give the "
                                      f"anchored root of size {m.settled_by})")
        elif m.blame == LEAVES_EDITED:
            what = "deleted" if m.stored is None else f"changed to {_hex(m.stored)}"
            code, detail = LEAF_MODIFIED, (f"the log tables' leaf at index {i} was {what}; the "
                                           f"row gives the anchored root of size {m.settled_by}")
        elif m.stored is None:
            code, detail = NOT_IN_LOG, f"the log tables have no leaf at index {i}"
        else:
            code, detail = MODIFIED, (f"the row at index {i} hashes to {_hex(m.row_leaf)}, the "
                                      f"log leaf is {_hex(m.stored)}; no anchored root settles "
                                      "which was edited")
        findings.append(Finding(code, detail, i, m.seq, m.entry_id))
    return findings


def _judge_checkpoints(scan: LogScan, signed: list[Checkpoint],
                       pairs: list[tuple[Checkpoint, Checkpoint]],
                       plans: Mapping[tuple[int, int], ProofPlan], anchored: Mapping[int, bytes],
                       findings: list[Finding]) -> dict[tuple[int, int], list[bytes]]:
    """Findings on the checkpoints; the consistency proofs that held, by (size1, size2)."""
    n = scan.log.size
    for size, root in sorted(anchored.items()):
        log_root = scan.log.root(size)
        if log_root is None:
            findings.append(Finding(ROOT_MISMATCH, f"the chain anchored size {size}; the log "
                                    f"tables hold only {n} leaves", size=size))
        elif log_root != root:
            edited = ("; with the rows' leaves where they differ it comes out: the log tables "
                      "were edited") if scan.truth_root(size) == root else ""
            findings.append(Finding(ROOT_MISMATCH, f"leaves 0..{size - 1} give root "
                                    f"{_hex(log_root)}, the chain anchored {_hex(root)}{edited}",
                                    size=size))
    for c in signed:
        if c.size not in anchored:
            findings.append(Finding(NOT_ANCHORED, f"signed checkpoint of size {c.size} (root "
                                    f"{_hex(c.root)}) is not anchored on chain", size=c.size))
            if c.size > n:
                findings.append(Finding(ROOT_MISMATCH, f"signed size {c.size}; the log tables "
                                        f"hold only {n} leaves", size=c.size))
        elif anchored[c.size] != c.root:
            findings.append(Finding(INCONSISTENT_CHECKPOINTS, f"signed root {_hex(c.root)} at "
                                    f"size {c.size}; the chain anchored "
                                    f"{_hex(anchored[c.size])}: a split view", size=c.size))
    proofs: dict[tuple[int, int], list[bytes]] = {}
    for a, b in pairs:
        if not a.size or b.size > n:
            continue  # every tree extends the empty one; a short log is reported above
        # Proofs from the leaves as they are, else as corrected by the rows: edited log
        # tables alone must not make two honest checkpoints look like a fork.
        for fold in scan.folds():
            proof = fold.proof(plans[(a.size, b.size)]) or []
            try:
                verify_consistency(a.size, b.size, proof, a.root, b.root)
            except InvalidProof:
                continue
            proofs[(a.size, b.size)] = proof
            break
        else:
            fault = b if a.root in (scan.log.root(a.size), scan.truth_root(a.size)) else a
            findings.append(Finding(INCONSISTENT_CHECKPOINTS, f"no consistency proof from the "
                                    f"log's leaves links size {a.size} ({_hex(a.root)}) to size "
                                    f"{b.size} ({_hex(b.root)})", size=fault.size))
    return proofs


def _claimed_size(note: bytes) -> int | None:
    try:
        return parse_checkpoint_body(parse_note(note).text).size
    except AnchoringError:
        return None


def _hex(value: bytes | None) -> str:
    return "none" if value is None else value.hex()
