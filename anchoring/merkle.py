"""RFC 9162 §2.1 Merkle tree hashing, proofs and their verifiers.

Pure functions over 32-byte SHA-256 hashes. The proof builders here take every leaf
hash and are the readable reference (RFC 6962 §2.1.1 PATH, §2.1.2 SUBPROOF);
``anchoring.tiles`` builds the same proofs from stored nodes without the leaves.
The verifiers are RFC 9162 §2.1.3.2 and §2.1.4.2 step by step, including the
``sn == 0`` checks that reject proofs of the wrong length.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from anchoring.errors import InvalidProof

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_MAX_SIZE = 2**64 - 1


def leaf_hash(entry: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 ‖ d)."""
    return hashlib.sha256(_LEAF_PREFIX + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 ‖ left ‖ right)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def split_point(size: int) -> int:
    """The largest power of two strictly smaller than ``size`` (size >= 2)."""
    return 1 << ((size - 1).bit_length() - 1)


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the given leaf hashes, in O(n) with a stack of complete subtrees."""
    stack: list[tuple[int, bytes]] = []  # (height, hash), heights strictly decreasing
    for h in hashes:
        height, node = 0, h
        while stack and stack[-1][0] == height:
            node = node_hash(stack.pop()[1], node)
            height += 1
        stack.append((height, node))
    if not stack:
        return EMPTY_ROOT
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = node_hash(left, root)
    return root


def build_inclusion_proof(index: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]) of RFC 6962 §2.1.1 from all leaf hashes (the reference builder)."""
    if not 0 <= index < len(hashes):
        raise InvalidProof("index_out_of_range", f"leaf {index} not in a tree of size {len(hashes)}")
    return _path(index, hashes)


def _path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = split_point(n)
    if m < k:
        return [*_path(m, d[:k]), root_from_leaf_hashes(d[k:])]
    return [*_path(m - k, d[k:]), root_from_leaf_hashes(d[:k])]


def build_consistency_proof(size1: int, hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]) of RFC 6962 §2.1.2 from all leaf hashes (the reference builder)."""
    if not 0 < size1 <= len(hashes):
        raise InvalidProof("size_out_of_range", f"old size {size1} not in 1..{len(hashes)}")
    return _subproof(size1, hashes, True)


def _subproof(m: int, d: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if complete else [root_from_leaf_hashes(d)]
    k = split_point(n)
    if m <= k:
        return [*_subproof(m, d[:k], complete), root_from_leaf_hashes(d[k:])]
    return [*_subproof(m - k, d[k:], False), root_from_leaf_hashes(d[:k])]


def _check_hash(name: str, value: bytes) -> None:
    if len(value) != HASH_SIZE:
        raise InvalidProof("wrong_hash_length", f"{name} is {len(value)} bytes, want {HASH_SIZE}")


def _check_size(name: str, value: int) -> None:
    if not 0 <= value <= _MAX_SIZE:
        raise InvalidProof("size_out_of_range", f"{name} {value} is not a uint64")


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise InvalidProof unless ``proof`` puts ``leaf`` at ``index``."""
    _check_size("leaf index", index)
    _check_size("tree size", size)
    if index >= size:
        raise InvalidProof("index_out_of_range", f"leaf index {index} >= tree size {size}")
    _check_hash("leaf hash", leaf)
    _check_hash("root", root)
    for i, p in enumerate(proof):
        _check_hash(f"proof[{i}]", p)
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise InvalidProof("wrong_proof_length", f"proof has more than the needed hashes ({len(proof)})")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof("wrong_proof_length", f"proof has too few hashes ({len(proof)})")
    if r != root:
        raise InvalidProof("root_mismatch", f"calculated root {r.hex()} != expected {root.hex()}")


def verify_consistency(
    size1: int, size2: int, proof: Sequence[bytes], root1: bytes, root2: bytes
) -> None:
    """RFC 9162 §2.1.4.2: raise InvalidProof unless tree ``size1`` is a prefix of ``size2``.

    Equal non-zero sizes need an empty proof and equal roots (the same tree). A proof
    from the empty tree proves nothing and is rejected, as in transparency-dev/merkle.
    """
    _check_size("size1", size1)
    _check_size("size2", size2)
    if size1 > size2:
        raise InvalidProof("size_out_of_range", f"size1 {size1} > size2 {size2}")
    if size1 == 0:
        raise InvalidProof("size_out_of_range", "a consistency proof from the empty tree is meaningless")
    if size1 == size2:
        # RFC 9162 §2.1.4.2 step 1: only "empty proof and equal hashes" is asked here
        # (the transparency-dev vectors accept it for hashes of any length).
        if proof:
            raise InvalidProof("wrong_proof_length", "sizes are equal but the proof is not empty")
        if root1 != root2:
            raise InvalidProof("root_mismatch", f"equal sizes, roots {root1.hex()} != {root2.hex()}")
        return
    _check_hash("root1", root1)
    _check_hash("root2", root2)
    for i, c in enumerate(proof):
        _check_hash(f"proof[{i}]", c)
    if not proof:
        raise InvalidProof("wrong_proof_length", "the proof is empty")
    path = list(proof)
    if size1 & (size1 - 1) == 0:
        path.insert(0, root1)
    fn, sn = size1 - 1, size2 - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise InvalidProof("wrong_proof_length", f"proof has more than the needed hashes ({len(proof)})")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise InvalidProof("wrong_proof_length", f"proof has too few hashes ({len(proof)})")
    if fr != root1:
        raise InvalidProof("root_mismatch", f"calculated root1 {fr.hex()} != expected {root1.hex()}")
    if sr != root2:
        raise InvalidProof("root_mismatch", f"calculated root2 {sr.hex()} != expected {root2.hex()}")
