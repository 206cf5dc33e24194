"""Append and proof rates of the anchoring log, next to raw hashlib leaf hashing.

    python -m bench.anchoring [--leaves 1000000] [--sqlite-leaves 100000] [--batch 1000]

Measures in one run: raw SHA-256 leaf hashing (the floor); in-memory appends in
batches (leaf hashing included); durable SQLite appends (file database, one
transaction per batch); inclusion and consistency proofs per second at the
in-memory log's full size. The last line is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import tempfile
import time
from pathlib import Path

from anchoring.merkle import leaf_hash, verify_inclusion
from anchoring.migrations import upgrade
from anchoring.store_sql import SqlLogStore, make_engine
from anchoring.tiles import MemoryNodeStore, TiledLog


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--leaves", type=int, default=1_000_000)
    parser.add_argument("--sqlite-leaves", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--proofs", type=int, default=20_000)
    args = parser.parse_args()
    entries = [b"record %d" % i for i in range(args.leaves)]

    start = time.perf_counter()
    for e in entries:
        hashlib.sha256(b"\x00" + e).digest()
    raw = _rate(len(entries), time.perf_counter() - start)

    log = TiledLog(MemoryNodeStore())
    start = time.perf_counter()
    for i in range(0, len(entries), args.batch):
        log.append([leaf_hash(e) for e in entries[i : i + args.batch]])
    memory = _rate(len(entries), time.perf_counter() - start)

    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        upgrade(engine)
        store = SqlLogStore(engine).create_log("bench.example/log")
        sql_entries = entries[: args.sqlite_leaves]
        start = time.perf_counter()
        for i in range(0, len(sql_entries), args.batch):
            chunk = sql_entries[i : i + args.batch]
            store.append([leaf_hash(e) for e in chunk], chunk)
        sqlite = _rate(len(sql_entries), time.perf_counter() - start)
        sql_log = TiledLog(store)
        rng = random.Random(1)
        sql_proofs = min(2000, args.proofs)
        start = time.perf_counter()
        for _ in range(sql_proofs):
            sql_log.inclusion_proof(rng.randrange(len(sql_entries)))
        sqlite_inclusion = _rate(sql_proofs, time.perf_counter() - start)
        engine.dispose()

    size, root = log.size(), log.root()
    rng = random.Random(2)
    indexes = [rng.randrange(size) for _ in range(args.proofs)]
    start = time.perf_counter()
    proofs = [log.inclusion_proof(i) for i in indexes]
    inclusion = _rate(len(indexes), time.perf_counter() - start)
    verify_inclusion(log.leaf_hash(indexes[0]), indexes[0], size, proofs[0], root)
    start = time.perf_counter()
    for i in indexes:
        log.consistency_proof(max(1, i))
    consistency = _rate(len(indexes), time.perf_counter() - start)

    figures = {
        "leaves": size, "raw_leaf_hashes_per_s": raw, "memory_appends_per_s": memory,
        "sqlite_leaves": args.sqlite_leaves, "sqlite_appends_per_s": sqlite,
        "sqlite_inclusion_proofs_per_s": sqlite_inclusion, "batch": args.batch,
        "inclusion_proofs_per_s": inclusion, "consistency_proofs_per_s": consistency,
        # One AnchorRegistry.anchor transaction per anchored checkpoint, whatever its size:
        # a checkpoint over the whole million needs 1; anchoring every batch needs size/batch.
        "anchor_transactions_for_1m_records_one_checkpoint": 1,
        "anchor_transactions_for_1m_records_every_batch": -(-1_000_000 // args.batch),
    }
    for key, value in figures.items():
        print(f"{key:32} {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
