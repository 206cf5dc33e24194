"""Proofs from stored nodes equal the reference proofs, with ~log2(n) reads."""

from __future__ import annotations

import math
import random

import pytest

from anchoring.errors import LogError
from anchoring.merkle import (
    EMPTY_ROOT,
    build_consistency_proof,
    build_inclusion_proof,
    leaf_hash,
    root_from_leaf_hashes,
)
from anchoring.tiles import (
    MemoryNodeStore,
    NodeId,
    TiledLog,
    compact_range,
    plan_consistency,
    plan_inclusion,
    plan_nodes,
)


class CountingStore(MemoryNodeStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get_nodes(self, ids):  # type: ignore[no-untyped-def]
        ids = list(ids)
        self.reads += len(ids)
        return super().get_nodes(ids)


def _log_in_batches(hashes: list[bytes], rng: random.Random) -> TiledLog:
    log = TiledLog(MemoryNodeStore())
    i = 0
    while i < len(hashes):
        j = min(len(hashes), i + rng.choice([1, 2, 7, 64, 300, 1000]))
        assert log.append(hashes[i:j]) == i
        i = j
    return log


@pytest.mark.parametrize("seed", range(6))
def test_tiled_proofs_equal_naive_proofs(seed: int) -> None:
    rng = random.Random(seed)
    n = rng.randint(1, 5000) if seed else 4097
    hashes = [leaf_hash(rng.randbytes(8)) for _ in range(n)]
    log = _log_in_batches(hashes, rng)
    assert log.size() == n
    assert log.root() == root_from_leaf_hashes(hashes)
    for _ in range(15):
        size = rng.randint(1, n)
        index = rng.randrange(size)
        prefix = hashes[:size]
        assert log.root(size) == root_from_leaf_hashes(prefix)
        assert log.inclusion_proof(index, size) == build_inclusion_proof(index, prefix)
        old = rng.randint(1, size)
        assert log.consistency_proof(old, size) == build_consistency_proof(old, prefix)
        assert log.leaf_hash(index) == hashes[index]


def test_small_trees_exhaustively() -> None:
    hashes = [leaf_hash(b"%d" % i) for i in range(40)]
    log = _log_in_batches(hashes, random.Random(1))
    assert log.root(0) == EMPTY_ROOT
    for n in range(1, 41):
        for m in range(n):
            assert log.inclusion_proof(m, n) == build_inclusion_proof(m, hashes[:n])
        for m in range(1, n + 1):
            assert log.consistency_proof(m, n) == build_consistency_proof(m, hashes[:n])


@pytest.mark.parametrize("size", [10**7, 2**24, 2**24 + 1, 12_345_678])
def test_a_proof_at_ten_million_leaves_reads_about_log2_n_nodes(size: int) -> None:
    bound = 2 * math.ceil(math.log2(size))
    rng = random.Random(size)
    for index in [0, size - 1, size // 2, *(rng.randrange(size) for _ in range(50))]:
        assert len(plan_nodes(plan_inclusion(index, size))) <= bound
        old = max(1, index)
        assert len(plan_nodes(plan_consistency(old, size))) <= bound


def test_reads_are_counted_on_a_real_log() -> None:
    store = CountingStore()
    log = TiledLog(store)
    log.append([leaf_hash(b"%d" % i) for i in range(100_000)])
    store.reads = 0
    log.inclusion_proof(54_321)
    assert store.reads <= 2 * 17


def test_compact_range_tiles_the_tree() -> None:
    assert compact_range(0) == []
    assert compact_range(13) == [(3, 0), (2, 2), (0, 12)]
    assert compact_range(3, start=4) == [(1, 2), (0, 6)]
    for n in range(1, 300):
        covered: list[NodeId] = compact_range(n)
        assert sum(1 << level for level, _ in covered) == n


def test_out_of_range_requests_are_refused() -> None:
    log = TiledLog(MemoryNodeStore())
    log.append([leaf_hash(b"a"), leaf_hash(b"b")])
    with pytest.raises(LogError):
        log.inclusion_proof(2)
    with pytest.raises(LogError):
        log.root(3)
    with pytest.raises(LogError):
        log.consistency_proof(0)
    with pytest.raises(LogError):
        log.append([b"short"])
    with pytest.raises(LogError):
        log.append([leaf_hash(b"c")], entries=[])
    assert log.size() == 2
