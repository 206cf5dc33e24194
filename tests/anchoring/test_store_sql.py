"""The SQL stores on a real database: SQLite always, PostgreSQL when configured."""

from __future__ import annotations

import random
import threading

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, event, inspect, update

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
from anchoring.store_sql import (
    TILE,
    NodeCache,
    SqlLogStore,
    SqlNodeStore,
    SqlSignedCheckpointStore,
    SqlWitnessState,
    leaves,
    metadata,
)
from anchoring.tiles import TiledLog, assemble, plan_inclusion, plan_nodes
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


# ---- the node cache (opt-in: the trust API's license logs) --------------------------------


def _cached_log(engine: Engine, cache: NodeCache, count: int) -> tuple[SqlNodeStore, list[bytes]]:
    store = SqlLogStore(engine, cache).create_log(ORIGIN)
    hashes = [leaf_hash(b"record %d" % i) for i in range(count)]
    store.append(hashes)
    return store, hashes


def test_a_cached_store_gives_the_reference_proofs(engine: Engine) -> None:
    cache = NodeCache(100_000)
    store, hashes = _cached_log(engine, cache, 700)
    log = TiledLog(store)
    rng = random.Random(11)
    for _ in range(60):  # proofs from a cold, then warm, cache
        size = rng.randint(1, 700)
        index = rng.randrange(size)
        assert log.inclusion_proof(index, size) == build_inclusion_proof(index, hashes[:size])
        old = rng.randint(1, size)
        assert log.consistency_proof(old, size) == build_consistency_proof(old, hashes[:size])
        assert log.root(size) == root_from_leaf_hashes(hashes[:size])
    assert cache.hits > cache.misses > 0


def test_a_miss_reads_the_whole_tile(engine: Engine) -> None:
    cache = NodeCache()
    store, hashes = _cached_log(engine, cache, 700)
    assert TiledLog(store).inclusion_proof(3, 700) == build_inclusion_proof(3, hashes)
    # The proof needs one leaf, (0, 2): its tile, leaves 0-255, came with it, so the
    # neighbours' proofs need no leaf read.
    assert all((store.log_id, 0, i) in cache._nodes for i in range(TILE))
    assert (store.log_id, 0, TILE) not in cache._nodes


def test_a_warm_cache_reads_no_sql(engine: Engine) -> None:
    cache = NodeCache()
    store, hashes = _cached_log(engine, cache, 300)
    log = TiledLog(store)
    first = log.inclusion_proof(123, 300)
    assert first == build_inclusion_proof(123, hashes)
    statements: list[str] = []
    event.listen(engine, "before_cursor_execute",
                 lambda *args: statements.append(args[2]))  # (conn, cursor, statement, ...)
    plan = plan_inclusion(123, 300)
    assert assemble(plan, store.get_nodes(plan_nodes(plan))) == first
    assert statements == []


def test_the_cache_is_bounded_and_keeps_the_recent_nodes(engine: Engine) -> None:
    cache = NodeCache(max_entries=50)
    store, hashes = _cached_log(engine, cache, 600)
    log = TiledLog(store)
    for index in (0, 300, 599):
        assert log.inclusion_proof(index, 600) == build_inclusion_proof(index, hashes)
        assert len(cache) <= 50
    # The last proof's nodes were stored last: they are still there.
    last = plan_nodes(plan_inclusion(599, 600))
    assert all((store.log_id, *node) in cache._nodes for node in last)
    with pytest.raises(ValueError):
        NodeCache(0)


def test_only_existing_nodes_are_cached_and_later_ones_are_read(engine: Engine) -> None:
    cache = NodeCache()
    store, hashes = _cached_log(engine, cache, 5)
    log = TiledLog(store)
    assert log.inclusion_proof(4, 5) == build_inclusion_proof(4, hashes)  # tile 0, partial
    more = [leaf_hash(b"more %d" % i) for i in range(20)]
    store.append(more)
    everything = hashes + more
    for index in (4, 5, 24):  # nodes written after the tile was first read
        assert log.inclusion_proof(index, 25) == build_inclusion_proof(index, everything)


def test_edits_of_the_tables_are_seen_without_a_cache_only(engine: Engine) -> None:
    """What the opt-in means: a cached store answers from memory what it read; readers
    that must see edited rows (the regulator's audit, tampering checks) use none."""
    cache = NodeCache()
    cached, hashes = _cached_log(engine, cache, 8)
    plain = SqlLogStore(engine).open_log(ORIGIN)
    assert plain.cache is None
    before = TiledLog(cached).inclusion_proof(3, 8)
    with engine.begin() as conn:
        conn.execute(update(leaves).where(leaves.c.log_id == cached.log_id, leaves.c.idx == 2)
                     .values(leaf_hash=bytes(32)))
    assert TiledLog(cached).inclusion_proof(3, 8) == before  # from memory
    assert TiledLog(plain).inclusion_proof(3, 8) != before  # the database as it is now
