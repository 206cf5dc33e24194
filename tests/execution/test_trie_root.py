"""Our direct ordered-trie root must equal py-evm's HexaryTrie-based one."""

from __future__ import annotations

import random

import pytest
from eth.db.trie import _make_trie_root_and_nodes
from hypothesis import given, settings
from hypothesis import strategies as st

from chain.execution.trie_root import EMPTY_ROOT, ordered_trie_root


@pytest.mark.parametrize("count", [0, 1, 2, 3, 15, 16, 17, 127, 128, 129, 255, 256, 257, 1000])
def test_matches_pyevm_at_trie_shape_boundaries(count: int) -> None:
    rng = random.Random(count)
    items = tuple(rng.randbytes(rng.choice([1, 3, 31, 32, 33, 120])) for _ in range(count))
    assert ordered_trie_root(items) == _make_trie_root_and_nodes(items)[0]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.binary(min_size=0, max_size=70), max_size=40))
def test_matches_pyevm_for_any_items(items: list[bytes]) -> None:
    assert ordered_trie_root(items) == _make_trie_root_and_nodes(tuple(items))[0]


def test_empty_root_is_the_blank_trie() -> None:
    assert EMPTY_ROOT.hex() == "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"
