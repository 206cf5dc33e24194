"""The regulator's audit (``audit_log``) of a large log: time and peak memory, next to raw
RFC 9162 leaf hashing of the same entries.

    python -m bench.audit_log [--entries 1000000] [--kind exchanges|traces]
                              [--subjects 10000] [--every 10000]

Generation (not measured, in this process) writes the entries — one JCS entry per line,
as a database cursor would hand the rows over; for ``exchanges``, bank credit queries
shaped as ``CreditService.query`` records them — and their leaf hashes (32 bytes each)
to a temporary folder, signs a checkpoint every ``--every`` entries and "anchors" it (the
root is handed to the audit as the chain's), then edits one row (at 1/3) and one leaf (at
2/3) so the audit has something to find.

The audit runs in a fresh child process (started through ``/bin/sh``, see ``run``), so
that its ``ru_maxrss`` is the audit's and not the generator's in-memory tree; its
``maxrss_before_audit_mib`` is the interpreter and imports, before the audit starts: a timed run streaming rows and leaves from the files;
then raw ``anchoring.merkle.leaf_hash`` and raw ``hashlib`` SHA-256 of entries of the same
file (in memory); then a second run under tracemalloc for its peak (tracemalloc slows
allocation, so that run's time is not reported); then raw hashing again. Both findings
must be named at their indices. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import resource
import shlex
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nacl.signing import SigningKey

from anchoring.checkpoint import Checkpoint
from anchoring.merkle import leaf_hash
from anchoring.note import Ed25519Signer, sign_note
from anchoring.tiles import MemoryNodeStore, TiledLog
from audit_trail.audit import audit_log
from audit_trail.chains import chain_hash
from audit_trail.exchanges import ExchangeRecord, build_exchange_record, exchange_entry
from audit_trail.traces import TraceEvent, build_trace_event, trace_entry
from license_registry.identifiers import calculate_usci_check

ORIGINS = {"exchanges": "city.example/exchanges", "traces": "city.example/traces"}
SEED = bytes(range(32))  # the log's checkpoint key (a fixed dev key: a benchmark)
BANK = "91310000MA1FL0000" + calculate_usci_check("91310000MA1FL0000")
DEPARTMENT = "91350100M000100Y43"  # market supervision (a valid USCI)
T0 = 1_767_000_000
RAW_ENTRIES = 50_000  # entries held in memory for the raw hashing slices
RAW_ROUNDS = 4


def _h(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _uuid(n: int) -> str:
    return f"urn:uuid:00000000-0000-4000-8000-{n:012x}"


def signer(kind: str) -> Ed25519Signer:
    return Ed25519Signer(ORIGINS[kind], SigningKey(SEED))


def credit_query_record(seq: int, prev_entry: bytes | None, template: ExchangeRecord
                        ) -> ExchangeRecord:
    """Record ``seq`` of the exchanges log, as a bank credit query writes it."""
    return dataclasses.replace(
        template, seq=seq, time=T0 + seq,
        prev_hash=None if prev_entry is None else chain_hash(prev_entry).hex(),
        subject_hash=_h(f"citychain-subject:{seq % 5000}"), result_hash=_h(f"r{seq}"),
        consent_id=_uuid(seq // 1000), legal_basis=f"consent {_uuid(seq // 1000)}")


def exchange_template() -> ExchangeRecord:
    """A validated credit-query record; later ones are copies with other values."""
    return build_exchange_record(
        None, kind="credit_query", time=T0, requester=BANK, provider="platform",
        dataset="CREDIT-RECORDS", subject_hash=_h("subject"), purpose="LOAN_APPLICATION",
        legal_basis=f"consent {_uuid(0)}", result_hash=_h("result"), decision="allowed",
        consent_id=_uuid(0), operator="0x" + "ab" * 20, scopes=["CR-PEN", "CR-RAT"])


def sample_entry() -> bytes:
    """A typical exchanges-log entry (a credit query), for raw hashing rates."""
    template = exchange_template()
    return exchange_entry(credit_query_record(123_456, exchange_entry(template), template))


def generate(folder: Path, count: int, kind: str, subjects: int, every: int) -> None:
    """Write ``entries``, ``leaves`` and ``checkpoints.json`` (signed notes, anchored roots)."""
    log = TiledLog(MemoryNodeStore())
    log_signer = signer(kind)
    notes: list[str] = []
    anchored: dict[int, str] = {}
    batch: list[bytes] = []
    template = exchange_template()
    trace = build_trace_event(event_id=_uuid(0), subject_kind="FOOD_LOT", subject_id="LOT-0",
                              event_type="INSPECTED", actor=DEPARTMENT, time=T0,
                              payload_hash=_h("p"))
    previous: bytes | None = None
    events: dict[int, tuple[TraceEvent, bytes]] = {}
    with (folder / "entries").open("wb") as rows, (folder / "leaves").open("wb") as leaves:
        for i in range(count):
            if kind == "exchanges":
                entry = exchange_entry(credit_query_record(i, previous, template))
                previous = entry
            else:
                last = events.get(i % subjects)
                event = dataclasses.replace(
                    trace, event_id=_uuid(i), subject_id=f"LOT-{i % subjects}", time=T0 + i,
                    seq=0 if last is None else last[0].seq + 1,
                    prev_event_hash=None if last is None else chain_hash(last[1]).hex(),
                    payload_hash=_h(f"p{i}"))
                entry = trace_entry(event)
                events[i % subjects] = (event, entry)
            rows.write(entry + b"\n")
            leaf = leaf_hash(entry)
            leaves.write(leaf)
            batch.append(leaf)
            if (i + 1) % every == 0 or i + 1 == count:
                log.append(batch)
                batch = []
                size, root = log.size(), log.root()
                anchored[size] = root.hex()
                notes.append(sign_note(Checkpoint(ORIGINS[kind], size, root).body(),
                                       [log_signer]).decode())
    (folder / "checkpoints.json").write_text(json.dumps({"notes": notes, "anchored": anchored}))


def read_rows(path: Path, edit_at: int) -> Iterator[tuple[int, bytes]]:
    """(index, entry bytes) as a cursor over the business rows would give them."""
    with path.open("rb") as rows:
        for index, line in enumerate(rows):
            entry = line[:-1]
            yield index, (entry.replace(b'"time":', b'"time":1') if index == edit_at else entry)


def read_leaves(path: Path, edit_at: int) -> Iterator[tuple[int, bytes]]:
    """(index, leaf hash) as a cursor over the log's leaf table would give them."""
    with path.open("rb") as leaves:
        index = 0
        while chunk := leaves.read(32 * 4096):
            for offset in range(0, len(chunk), 32):
                yield index, (b"\x11" * 32 if index == edit_at else chunk[offset:offset + 32])
                index += 1


def raw_hashing(entries: list[bytes], rounds: int = RAW_ROUNDS) -> tuple[float, float]:
    """(RFC 9162 leaf hashes/s with anchoring.merkle.leaf_hash, plain SHA-256/s)."""
    started = time.perf_counter()
    for _ in range(rounds):
        for e in entries:
            leaf_hash(e)
    leaves = len(entries) * rounds / (time.perf_counter() - started)
    sha256 = hashlib.sha256
    started = time.perf_counter()
    for _ in range(rounds):
        for e in entries:
            sha256(e).digest()
    return leaves, len(entries) * rounds / (time.perf_counter() - started)


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _vmhwm_mib() -> float | None:
    """This process's own peak resident set (Linux; None elsewhere)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def audit_child(folder: Path, kind: str, row_edit: int, leaf_edit: int) -> dict[str, Any]:
    """The measured part, run in a fresh process (``--audit-folder``)."""
    stored = json.loads((folder / "checkpoints.json").read_text())
    notes = [n.encode() for n in stored["notes"]]
    anchored = {int(size): bytes.fromhex(root) for size, root in stored["anchored"].items()}
    verifier = signer(kind).verifier()

    def audit() -> tuple[list[tuple[str, int | None]], dict[str, int], int]:
        result = audit_log(entries=read_rows(folder / "entries", row_edit),
                           leaves=read_leaves(folder / "leaves", leaf_edit), checkpoints=notes,
                           verifier=verifier, anchored=anchored, origin=ORIGINS[kind])
        # Entry findings name an index; the rest are about roots (every anchored size past
        # the edited leaf no longer matches the log tables' root).
        about_roots: dict[str, int] = {}
        for f in result.findings:
            if f.index is None:
                about_roots[f.code] = about_roots.get(f.code, 0) + 1
        return ([(f.code, f.index) for f in result.findings if f.index is not None],
                about_roots, result.entries_checked)

    rss_before = _maxrss_mib()
    started, cpu_started = time.perf_counter(), time.process_time()
    found, about_roots, checked = audit()
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    maxrss, vmhwm = _maxrss_mib(), _vmhwm_mib()

    with (folder / "entries").open("rb") as rows:
        sample = [line[:-1] for _, line in zip(range(RAW_ENTRIES), rows, strict=False)]
    raw_first = raw_hashing(sample)
    tracemalloc.start()
    audit()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    raw_second = raw_hashing(sample)
    raw_leaf = (raw_first[0] + raw_second[0]) / 2
    raw_sha = (raw_first[1] + raw_second[1]) / 2
    rate = checked / seconds
    return {"audit_s": round(seconds, 2), "audit_cpu_s": round(cpu, 2),
            "entries_checked": checked, "entries_per_s": round(rate),
            "raw_leaf_hash_per_s": round(raw_leaf), "raw_sha256_per_s": round(raw_sha),
            "ratio_to_raw_leaf_hash": round(rate / raw_leaf, 4),
            "entry_bytes_avg": round(sum(map(len, sample)) / len(sample), 1),
            "peak_traced_mib": round(peak / 2**20, 2),
            "maxrss_before_audit_mib": round(rss_before, 1), "maxrss_mib": round(maxrss, 1),
            "vmhwm_mib": None if vmhwm is None else round(vmhwm, 1),
            "findings": found, "root_findings": about_roots,
            "found_both_edits": found == [("modified", row_edit), ("leaf_modified", leaf_edit)]}


def run(entries: int, kind: str = "exchanges", subjects: int = 10_000,
        every: int = 10_000) -> dict[str, Any]:
    """Generate a log of ``entries`` and audit it in a child process; every figure."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        generate(folder, entries, kind, subjects, every)
        generated = time.perf_counter() - started
        row_edit, leaf_edit = entries // 3, 2 * entries // 3
        argv = [sys.executable, "-m", "bench.audit_log", "--audit-folder", str(folder),
                "--kind", kind, "--row-edit", str(row_edit), "--leaf-edit", str(leaf_edit)]
        # Through a shell that forks it (the trailing command keeps sh from exec'ing it):
        # Linux carries a parent's ru_maxrss into a child it forks and execs directly, so
        # a child of this process (or of bench.credit) would report at least our peak.
        child = subprocess.run(["/bin/sh", "-c", f"{shlex.join(argv)}; exit $?"],
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            raise RuntimeError(f"the audit process failed:\n{child.stderr[-5000:]}")
        figures = json.loads(child.stdout.strip().splitlines()[-1])
        checkpoints = len(json.loads((folder / "checkpoints.json").read_text())["notes"])
    return {"entries": entries, "kind": kind, "checkpoints": checkpoints, "every": every,
            "subjects": subjects if kind == "traces" else 1, "generate_s": round(generated, 1),
            "row_edit": row_edit, "leaf_edit": leaf_edit, **figures}


def describe(figures: dict[str, Any]) -> str:
    return (f"audit_log of {figures['entries']:,} {figures['kind']} entries "
            f"({figures['entry_bytes_avg']:.0f} B avg), {figures['checkpoints']} anchored "
            f"checkpoints: {figures['audit_s']:.2f} s, {figures['entries_per_s']:,} entries/s | "
            f"raw leaf hashing {figures['raw_leaf_hash_per_s']:,}/s (same process) | "
            f"{figures['ratio_to_raw_leaf_hash']:.3f}x | peak traced "
            f"{figures['peak_traced_mib']:.1f} MiB, ru_maxrss {figures['maxrss_mib']:.1f} MiB "
            f"({figures['maxrss_before_audit_mib']:.1f} MiB before the audit) | both edits "
            f"{'found' if figures['found_both_edits'] else 'NOT FOUND'}: {figures['findings']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=tuple(ORIGINS), default="exchanges")
    parser.add_argument("--subjects", type=int, default=10_000, help="trace subjects")
    parser.add_argument("--every", type=int, default=10_000,
                        help="entries between anchored checkpoints")
    parser.add_argument("--audit-folder", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--row-edit", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--leaf-edit", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.audit_folder is not None:  # the child process
        print(json.dumps(audit_child(args.audit_folder, args.kind, args.row_edit,
                                     args.leaf_edit)))
        return
    figures = run(args.entries, args.kind, args.subjects, args.every)
    print(describe(figures))
    print(json.dumps(figures, sort_keys=True))


if __name__ == "__main__":
    main()
