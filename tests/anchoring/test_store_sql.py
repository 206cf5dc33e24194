"""The SQL stores on a real database: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import random
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from anchoring.checkpoint import Checkpoint, Checkpointer
from anchoring.errors import InconsistentCheckpoint, LogError
from anchoring.merkle import (
    build_consistency_proof,
    build_inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
    verify_inclusion,
)
from anchoring.migrations import VERSION_TABLE
from anchoring.note import Ed25519Signer
from anchoring.store_sql import SqlLogStore, SqlSignedCheckpointStore, SqlWitnessState, metadata
from anchoring.tiles import TiledLog
from anchoring.witness import TreeHead

ORIGIN = "city.example/anchors"


def test_migration_creates_exactly_the_mapped_tables(engine: Engine) -> None:
    tables = set(inspect(engine).get_table_names())
    assert {t.name for t in metadata.sorted_tables} | {VERSION_TABLE} <= tables
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d for d in diff if d[0] != "remove_table"] == []


def test_appends_and_proofs_match_the_reference(engine: Engine) -> None:
    store = SqlLogStore(engine).create_log(ORIGIN)
    log = TiledLog(store)
    rng = random.Random(7)
    entries = [b"record %d" % i for i in range(1500)]
    hashes = [leaf_hash(e) for e in entries]
    i = 0
    while i < len(entries):
        j = min(len(entries), i + rng.choice([1, 3, 100, 400]))
        assert log.append(hashes[i:j], entries[i:j]) == i
        i = j
    assert store.head() == TreeHead(1500, root_from_leaf_hashes(hashes))
    for _ in range(25):
        size = rng.randint(1, 1500)
        index = rng.randrange(size)
        assert log.root(size) == root_from_leaf_hashes(hashes[:size])
        assert log.inclusion_proof(index, size) == build_inclusion_proof(index, hashes[:size])
        old = rng.randint(1, size)
        assert log.consistency_proof(old, size) == build_consistency_proof(old, hashes[:size])
    assert store.get_entry(42) == b"record 42"
    log.append([leaf_hash(b"hash only")])
    assert store.get_entry(1500) is None
    with pytest.raises(LogError):
        store.get_entry(1501)


def test_logs_are_separate_and_origins_unique(engine: Engine) -> None:
    logs = SqlLogStore(engine)
    a, b = logs.create_log("a.example/log"), logs.create_log("b.example/log")
    a.append([leaf_hash(b"a")])
    assert (a.size(), b.size()) == (1, 0)
    with pytest.raises(LogError, match="already exists"):
        logs.create_log("a.example/log")
    with pytest.raises(LogError, match="no log"):
        logs.open_log("missing.example/log")
    assert logs.open_log("a.example/log").size() == 1


def test_a_failed_batch_leaves_the_log_unchanged(engine: Engine) -> None:
    store = SqlLogStore(engine).create_log(ORIGIN)
    store.append([leaf_hash(b"ok")])
    with pytest.raises(LogError):
        store.append([leaf_hash(b"fine"), b"not 32 bytes"])
    assert store.head() == TreeHead(1, leaf_hash(b"ok"))


def test_concurrent_appends_are_serialized_into_dense_indexes(engine: Engine) -> None:
    logs = SqlLogStore(engine)
    logs.create_log(ORIGIN)
    firsts: list[int] = []
    errors: list[BaseException] = []

    def writer(worker: int) -> None:
        store = logs.open_log(ORIGIN)
        try:
            for batch in range(5):
                entries = [b"w%d b%d e%d" % (worker, batch, k) for k in range(20)]
                firsts.append(store.append([leaf_hash(e) for e in entries], entries))
        except BaseException as err:  # surfaced below, with the thread's error
            errors.append(err)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted(firsts) == list(range(0, 400, 20))
    store = logs.open_log(ORIGIN)
    log = TiledLog(store)
    stored = [leaf_hash(store.get_entry(i) or b"") for i in range(400)]
    assert [log.leaf_hash(i) for i in range(400)] == stored
    root = root_from_leaf_hashes(stored)
    assert store.head() == TreeHead(400, root)
    verify_inclusion(stored[123], 123, 400, log.inclusion_proof(123), root)


def test_witness_state_compare_and_set(engine: Engine) -> None:
    state = SqlWitnessState(engine)
    one, two = TreeHead(1, leaf_hash(b"1")), TreeHead(2, leaf_hash(b"2"))
    assert state.latest(ORIGIN) is None
    assert state.compare_and_set(ORIGIN, None, one)
    assert not state.compare_and_set(ORIGIN, None, two)
    assert not state.compare_and_set(ORIGIN, TreeHead(1, leaf_hash(b"x")), two)
    assert state.compare_and_set(ORIGIN, one, two)
    assert state.latest(ORIGIN) == two

    results: list[bool] = []
    barrier = threading.Barrier(6)

    def advance(size: int) -> None:
        barrier.wait()
        results.append(state.compare_and_set(ORIGIN, two, TreeHead(size, leaf_hash(b"%d" % size))))

    threads = [threading.Thread(target=advance, args=(10 + i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(True) == 1


def test_checkpointer_state_survives_a_restart(engine: Engine) -> None:
    signer = Ed25519Signer.generate(ORIGIN)
    leaves = [leaf_hash(b"%d" % i) for i in range(9)]
    Checkpointer(ORIGIN, signer, SqlSignedCheckpointStore(engine)).sign(
        Checkpoint(ORIGIN, 9, root_from_leaf_hashes(leaves))
    )
    restarted = Checkpointer(ORIGIN, signer, SqlSignedCheckpointStore(engine))
    forked = [*leaves[:8], leaf_hash(b"other")]
    with pytest.raises(InconsistentCheckpoint, match="fork"):
        restarted.sign(Checkpoint(ORIGIN, 9, root_from_leaf_hashes(forked)))
