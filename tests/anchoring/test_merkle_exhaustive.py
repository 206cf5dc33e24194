"""Every inclusion and consistency proof for every tree up to 64 leaves."""

from __future__ import annotations

import hashlib

import pytest

from anchoring.errors import InvalidProof
from anchoring.merkle import (
    EMPTY_ROOT,
    build_consistency_proof,
    build_inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

MAX_LEAVES = 64
LEAVES = [leaf_hash(b"entry-%d" % i) for i in range(MAX_LEAVES)]


def _mth(d: list[bytes]) -> bytes:
    """MTH straight from the RFC's definition, to check the O(n) root against."""
    if not d:
        return EMPTY_ROOT
    if len(d) == 1:
        return d[0]
    k = 1 << ((len(d) - 1).bit_length() - 1)
    return node_hash(_mth(d[:k]), _mth(d[k:]))


def _flip(proof: list[bytes], element: int, byte: int) -> list[bytes]:
    tampered = list(proof)
    value = bytearray(tampered[element])
    value[byte] ^= 0x01
    tampered[element] = bytes(value)
    return tampered


def test_known_roots() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    for n in range(MAX_LEAVES + 1):
        assert root_from_leaf_hashes(LEAVES[:n]) == _mth(LEAVES[:n])


@pytest.mark.parametrize("n", range(1, MAX_LEAVES + 1))
def test_every_inclusion_proof(n: int) -> None:
    tree = LEAVES[:n]
    root = root_from_leaf_hashes(tree)
    for m in range(n):
        proof = build_inclusion_proof(m, tree)
        verify_inclusion(tree[m], m, n, proof, root)
        for element in range(len(proof)):
            with pytest.raises(InvalidProof, match="root_mismatch"):
                verify_inclusion(tree[m], m, n, _flip(proof, element, (m + element) % 32), root)
        with pytest.raises(InvalidProof, match="root_mismatch"):
            verify_inclusion(_flip([tree[m]], 0, m % 32)[0], m, n, proof, root)
        with pytest.raises(InvalidProof):
            verify_inclusion(tree[m], m, n, [*proof, root], root)
        if proof:
            with pytest.raises(InvalidProof, match="wrong_proof_length"):
                verify_inclusion(tree[m], m, n, proof[:-1], root)
        if n > 1:
            with pytest.raises(InvalidProof):
                verify_inclusion(tree[m], (m + 1) % n, n, proof, root)
    with pytest.raises(InvalidProof, match="index_out_of_range"):
        verify_inclusion(tree[0], n, n, [], root)


@pytest.mark.parametrize("n", range(1, MAX_LEAVES + 1))
def test_every_consistency_proof(n: int) -> None:
    tree = LEAVES[:n]
    root2 = root_from_leaf_hashes(tree)
    for m in range(1, n + 1):
        root1 = root_from_leaf_hashes(tree[:m])
        proof = build_consistency_proof(m, tree)
        verify_consistency(m, n, proof, root1, root2)
        for element in range(len(proof)):
            with pytest.raises(InvalidProof):
                verify_consistency(m, n, _flip(proof, element, (m + element) % 32), root1, root2)
        with pytest.raises(InvalidProof):
            verify_consistency(m, n, proof, _flip([root1], 0, 5)[0], root2)
        with pytest.raises(InvalidProof):
            verify_consistency(m, n, proof, root1, _flip([root2], 0, 7)[0])
        if proof:
            with pytest.raises(InvalidProof):
                verify_consistency(m, n, proof[:-1], root1, root2)
        if m < n:
            with pytest.raises(InvalidProof):
                verify_consistency(m, n, [*proof, root1], root1, root2)
    with pytest.raises(InvalidProof, match="size_out_of_range"):
        verify_consistency(0, n, [], EMPTY_ROOT, root2)


def test_bad_inputs_are_typed() -> None:
    root = root_from_leaf_hashes(LEAVES[:4])
    proof = build_inclusion_proof(1, LEAVES[:4])
    with pytest.raises(InvalidProof, match="wrong_hash_length"):
        verify_inclusion(LEAVES[1], 1, 4, [proof[0][:31], proof[1]], root)
    with pytest.raises(InvalidProof, match="wrong_hash_length"):
        verify_inclusion(LEAVES[1], 1, 4, proof, root + b"\x00")
    with pytest.raises(InvalidProof, match="size_out_of_range"):
        verify_inclusion(LEAVES[1], -1, 4, proof, root)
    with pytest.raises(InvalidProof, match="size_out_of_range"):
        verify_consistency(2, 2**64, [], root, root)
    with pytest.raises(InvalidProof, match="index_out_of_range"):
        build_inclusion_proof(4, LEAVES[:4])
    with pytest.raises(InvalidProof, match="size_out_of_range"):
        build_consistency_proof(0, LEAVES[:4])
