"""When rounds expire and when a proposer may build: pure functions of the time given.

Round 0 starts at parent.timestamp + block_period (pending transactions) or
+ empty_block_period (idle pool), so idle chains do not churn round changes, and
never before this node reached the height (a late or restarted node does not time
out at once). Round r > 0 lasts request_timeout * 2**r, capped (Besu's fix).
"""

from __future__ import annotations

import math

from chain.consensus.events import QbftConfig


def round_timeout(config: QbftConfig, round_: int) -> float:
    return min(config.request_timeout * 2 ** min(round_, 64), config.max_round_timeout)


def round_zero_start(
    config: QbftConfig,
    parent_timestamp: int,
    pool_has_transactions: bool,
    height_started_at: float | None,
) -> float:
    delay = config.block_period if pool_has_transactions else config.empty_block_period
    start = parent_timestamp + delay
    return start if height_started_at is None else max(start, height_started_at)


def earliest_block_time(
    config: QbftConfig,
    parent_timestamp: int,
    now: float,
    pool_has_transactions: bool,
    expect_empty: bool,
) -> float | None:
    """The earliest timestamp a block built now may carry, or None if it is too early.

    ``expect_empty``: the last build came back empty, so wait for the empty period.
    """
    if now < parent_timestamp + config.block_period:
        return None
    if expect_empty or not pool_has_transactions:
        if now < parent_timestamp + config.empty_block_period:
            return None
        return parent_timestamp + max(config.empty_block_period, config.block_period)
    return parent_timestamp + config.block_period


def block_timestamp(now: float, earliest: float) -> int:
    return max(math.floor(now), math.ceil(earliest))
