"""The NoticeBoard example contract, as the end-to-end tests expect it to behave."""

from __future__ import annotations

import pytest
from evm_harness import Contract, EvmHarness, TestAccount, decode_revert_reason

from contracts.artifacts import load_artifact

AUTHOR = TestAccount.from_label("author")


@pytest.fixture
def board() -> Contract:
    harness = EvmHarness([AUTHOR])
    board, _ = harness.deploy_contract(AUTHOR, load_artifact("NoticeBoard"))
    return board


def test_post_stores_counts_and_emits(board: Contract) -> None:
    first = board.transact(AUTHOR, "post", "water main repair on Elm St")
    second = board.transact(AUTHOR, "post", "library closed Monday")
    assert first.success and second.success
    assert board.decode_output("post", second.return_data) == 2
    assert board.call("count") == 2
    assert board.call("notes", 1) == "water main repair on Elm St"
    assert board.call("notes", 2) == "library closed Monday"
    assert [(e.name, e.args) for e in board.decode_events(second)] == [
        ("Posted", {"author": AUTHOR.address, "id": 2, "text": "library closed Monday"})
    ]


def test_empty_text_reverts_with_a_reason(board: Contract) -> None:
    result = board.transact(AUTHOR, "post", "")
    assert not result.success
    assert decode_revert_reason(result.return_data) == "NoticeBoard: empty text"
    assert board.call("count") == 0


def test_fail_with_custom_error_reverts_with_the_caller(board: Contract) -> None:
    result = board.transact(AUTHOR, "failWithCustomError")
    assert not result.success
    assert board.decode_custom_error(result.return_data) == ("Unauthorized", (AUTHOR.address,))
