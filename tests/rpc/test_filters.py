"""Filters and subscriptions as plain objects: blocks in, changes out, time passed in."""

from __future__ import annotations

import itertools

import pytest

from chain.errors import LimitExceeded, NotFound
from chain.rpc.codec import FilterParams
from chain.rpc.filters import FilterManager, Subscriptions, is_log_matching, new_random_id
from tests.rpc.fake_node import APPROVAL_TOPIC, BOB, TOKEN, TRANSFER_TOPIC, FakeNode, topic_for


def make_manager(max_backlog: int = 100) -> FilterManager:
    ids = itertools.count(1)
    return FilterManager(timeout=300, max_filters=3, max_backlog=max_backlog,
                         new_id=lambda: hex(next(ids)))


def next_block(node: FakeNode):
    """A block with a token transfer, and its logs."""
    block = node.commit_block([node.token_transfer(nonce=len(node.blocks) + 10)])
    return block, [log for tx in block.transactions for log in node.receipts[tx.hash].logs]


def test_random_ids_are_16_byte_quantities():
    ids = {new_random_id() for _ in range(50)}
    assert len(ids) == 50
    for filter_id in ids:
        assert filter_id.startswith("0x") and not filter_id.startswith("0x0")
        assert int(filter_id, 16) < 2**128


@pytest.mark.parametrize(
    ("criteria", "matches"),
    [
        (FilterParams(), True),
        (FilterParams(addresses=(TOKEN,)), True),
        (FilterParams(addresses=(BOB,)), False),
        (FilterParams(topics=((TRANSFER_TOPIC,),)), True),
        (FilterParams(topics=((APPROVAL_TOPIC,),)), False),
        (FilterParams(topics=((APPROVAL_TOPIC, TRANSFER_TOPIC),)), True),
        (FilterParams(topics=(None, None, (topic_for(BOB),))), True),
        (FilterParams(topics=(None, None, None, None)), False),  # the log has 3 topics
    ],
)
def test_log_matching(criteria, matches):
    log = next_block(FakeNode())[1][0]
    assert log.topics[0] == TRANSFER_TOPIC
    assert is_log_matching(log, criteria) is matches


def test_block_filter_returns_new_hashes_once():
    node, manager = FakeNode(), make_manager()
    filter_id = manager.install_block_filter(now=0)
    first, second = next_block(node), next_block(node)
    manager.on_block(*first)
    manager.on_block(*second)
    assert manager.take_changes(int(filter_id, 16), now=1) == [first[0].hash, second[0].hash]
    assert manager.take_changes(int(filter_id, 16), now=2) == []


def test_log_filter_collects_matching_logs_within_its_range():
    node, manager = FakeNode(), make_manager()
    approvals = manager.install_log_filter(FilterParams(topics=((APPROVAL_TOPIC,),)), now=0)
    bounded = manager.install_log_filter(FilterParams(from_block=4, to_block=4), now=0)
    for _ in range(3):  # blocks 3, 4, 5
        manager.on_block(*next_block(node))
    changes = manager.take_changes(int(approvals, 16), now=1)
    assert [log.block_number for log in changes] == [3, 4, 5]
    assert {log.topics[0] for log in changes} == {APPROVAL_TOPIC}
    assert [log.block_number for log in manager.take_changes(int(bounded, 16), now=1)] == [4, 4]


def test_filters_expire_after_timeout_without_a_poll():
    manager = make_manager()
    polled = int(manager.install_block_filter(now=0), 16)
    idle = int(manager.install_block_filter(now=0), 16)
    manager.take_changes(polled, now=200)
    manager.remove_expired(now=301)
    assert len(manager) == 1
    with pytest.raises(NotFound, match="not found; filters expire 300 seconds after"):
        manager.take_changes(idle, now=301)
    assert manager.take_changes(polled, now=499) == []


def test_uninstall():
    manager = make_manager()
    filter_id = int(manager.install_block_filter(now=0), 16)
    assert manager.uninstall(filter_id, now=1) is True
    assert manager.uninstall(filter_id, now=1) is False


def test_filter_count_is_limited():
    manager = make_manager()
    for _ in range(3):
        manager.install_block_filter(now=0)
    with pytest.raises(LimitExceeded, match="3 filters"):
        manager.install_block_filter(now=0)


def test_overflowing_filter_reports_where_to_resume():
    node, manager = FakeNode(), make_manager(max_backlog=1)
    filter_id = int(manager.install_block_filter(now=0), 16)
    manager.on_block(*next_block(node))
    manager.on_block(*next_block(node))
    with pytest.raises(LimitExceeded, match="fetch from block 0x3"):
        manager.take_changes(filter_id, now=1)
    assert len(manager) == 0


def test_block_filter_has_no_logs():
    manager = make_manager()
    filter_id = int(manager.install_block_filter(now=0), 16)
    with pytest.raises(NotFound, match="block filter"):
        manager.criteria(filter_id, now=0)


def test_subscriptions_notify_heads_and_matching_logs_in_order():
    node = FakeNode()
    subscriptions = Subscriptions(max_subscriptions=2)
    heads = subscriptions.subscribe(None)
    transfers = subscriptions.subscribe(FilterParams(topics=((TRANSFER_TOPIC,),)))
    block, logs = next_block(node)
    messages = subscriptions.notifications(block, logs)
    assert [m["params"]["subscription"] for m in messages] == [heads, transfers]
    assert messages[0]["method"] == "eth_subscription"
    assert messages[0]["params"]["result"]["number"] == hex(block.number)
    assert "transactions" not in messages[0]["params"]["result"]
    assert messages[1]["params"]["result"]["topics"][0] == "0x" + TRANSFER_TOPIC.hex()
    with pytest.raises(LimitExceeded):
        subscriptions.subscribe(None)
    assert subscriptions.unsubscribe(int(heads, 16)) is True
    assert subscriptions.unsubscribe(int(heads, 16)) is False
    assert len(subscriptions.notifications(block, logs)) == 1
