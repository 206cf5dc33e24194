"""Time and peak memory of ``audit_log`` over a large log, rows and leaves streamed from files.

    python -m tests.audit_trail.bench_audit [--entries 1000000] [--kind exchanges|traces]
                                            [--subjects 10000] [--every 10000]

Generation (not measured) writes the entries (one JCS entry per line, as a database
cursor would hand them over) and the leaf hashes (32 bytes each) to a temporary folder,
signs and anchors a checkpoint every ``--every`` entries, then edits one row and one leaf
so the audit has something to find. The audit runs twice: once for time, once under
tracemalloc for peak memory (tracemalloc slows allocation, so its time is not reported).
The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

from anchoring.merkle import leaf_hash
from anchoring.tiles import MemoryNodeStore, TiledLog
from audit_trail.audit import audit_log
from audit_trail.exchanges import ExchangeRecord, exchange_entry, record_hash
from audit_trail.traces import TraceEvent, event_hash, trace_entry

from .samples import EXCHANGES, EXCHANGES_ORIGIN, EXCHANGES_SIGNER, TRACES, h, signed_checkpoint


def generate(folder: Path, count: int, kind: str, subjects: int,
             every: int) -> tuple[list[bytes], dict[int, bytes]]:
    log = TiledLog(MemoryNodeStore())
    notes, anchored, batch = [], {}, []
    with (folder / "entries").open("wb") as rows, (folder / "leaves").open("wb") as leaves:
        record: ExchangeRecord | None = None
        events: dict[int, TraceEvent] = {}
        for i in range(count):
            if kind == "exchanges":
                record = dataclasses.replace(
                    EXCHANGES[1], seq=i, time=EXCHANGES[1].time + i,
                    prev_hash=None if record is None else record_hash(record).hex(),
                    subject_hash=h(f"s{i % 5000}"), result_hash=h(f"r{i}"))
                entry = exchange_entry(record)
            else:
                last = events.get(i % subjects)
                event = dataclasses.replace(
                    TRACES[0], event_id=f"urn:uuid:00000000-0000-4000-8000-{i:012x}",
                    subject_id=f"LOT-{i % subjects}", time=TRACES[0].time + i,
                    seq=0 if last is None else last.seq + 1,
                    prev_event_hash=None if last is None else event_hash(last).hex(),
                    payload_hash=h(f"p{i}"))
                events[i % subjects], entry = event, trace_entry(event)
            rows.write(entry + b"\n")
            leaf = leaf_hash(entry)
            leaves.write(leaf)
            batch.append(leaf)
            if (i + 1) % every == 0 or i + 1 == count:
                log.append(batch)
                batch = []
                anchored[log.size()] = log.root()
                notes.append(signed_checkpoint(EXCHANGES_ORIGIN, log.size(), log.root(),
                                               EXCHANGES_SIGNER))
    return notes, anchored


def read_rows(path: Path, edit_at: int) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as rows:
        for index, line in enumerate(rows):
            entry = line[:-1]
            yield index, (entry.replace(b'"time":', b'"time":1') if index == edit_at else entry)


def read_leaves(path: Path, edit_at: int) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as leaves:
        index = 0
        while chunk := leaves.read(32 * 4096):
            for offset in range(0, len(chunk), 32):
                yield index, (b"\x11" * 32 if index == edit_at else chunk[offset:offset + 32])
                index += 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--kind", choices=("exchanges", "traces"), default="exchanges")
    parser.add_argument("--subjects", type=int, default=10_000)
    parser.add_argument("--every", type=int, default=10_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        notes, anchored = generate(folder, args.entries, args.kind, args.subjects, args.every)
        generated = time.perf_counter() - started
        row_edit, leaf_edit = args.entries // 3, 2 * args.entries // 3

        def audit() -> list[tuple[str, int | None]]:
            result = audit_log(entries=read_rows(folder / "entries", row_edit),
                               leaves=read_leaves(folder / "leaves", leaf_edit),
                               checkpoints=notes, verifier=EXCHANGES_SIGNER.verifier(),
                               anchored=anchored, origin=EXCHANGES_ORIGIN)
            return [(f.code, f.index) for f in result.findings if f.index is not None]

        started = time.perf_counter()
        found = audit()
        seconds = time.perf_counter() - started
        tracemalloc.start()
        audit()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    print(f"{args.entries} {args.kind} entries, {len(notes)} anchored checkpoints: "
          f"{seconds:.2f} s ({args.entries / seconds:,.0f} entries/s), "
          f"peak traced memory {peak / 2**20:.1f} MiB; entry findings {found}")
    print(json.dumps({"entries": args.entries, "kind": args.kind, "checkpoints": len(notes),
                      "subjects": args.subjects if args.kind == "traces" else 1,
                      "generate_s": round(generated, 1), "audit_s": round(seconds, 2),
                      "entries_per_s": round(args.entries / seconds),
                      "peak_traced_mib": round(peak / 2**20, 1),
                      "entry_findings": found}))


if __name__ == "__main__":
    main()
