"""Polled filters (eth_newFilter...) and WebSocket subscriptions (eth_subscribe).

Both are fed new blocks through ``on_block``, called from the node's block listener;
neither reads a clock — the caller passes ``now`` — nor does I/O.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from chain.errors import LimitExceeded, NotFound
from chain.rpc.codec import FilterParams, encode_data, encode_header, encode_log
from chain.types import BlockView, LogView


def new_random_id() -> str:
    """A random 16-byte id written as a hex quantity, as geth writes filter ids."""
    return hex(int.from_bytes(secrets.token_bytes(16), "big") or 1)


def is_log_matching(log: LogView, criteria: FilterParams) -> bool:
    """Address and topic criteria only; block bounds are the caller's concern."""
    if criteria.addresses and log.address not in criteria.addresses:
        return False
    if len(criteria.topics) > len(log.topics):
        return False
    return all(
        alternatives is None or topic in alternatives
        for alternatives, topic in zip(criteria.topics, log.topics, strict=False)
    )


def _is_within_bounds(block_number: int, criteria: FilterParams) -> bool:
    """Whether a new block falls in a filter's range; tags other than earliest are open."""
    if criteria.block_hash is not None:
        return False
    lower = 0 if criteria.from_block == "earliest" else criteria.from_block
    upper = 0 if criteria.to_block == "earliest" else criteria.to_block
    if isinstance(lower, int) and block_number < lower:
        return False
    return not (isinstance(upper, int) and block_number > upper)


@dataclass
class _Filter:
    criteria: FilterParams | None  # None: a block filter
    last_used: float
    changes: list[Any] = field(default_factory=list)  # block hashes or LogViews
    unpolled_from: int | None = None  # first block that arrived since the last poll
    overflowed: bool = False


class FilterManager:
    """Filters installed by clients, each holding the changes since its last poll."""

    def __init__(
        self,
        *,
        timeout: float,
        max_filters: int,
        max_backlog: int,
        new_id: Callable[[], str] = new_random_id,
    ) -> None:
        self._filters: dict[int, _Filter] = {}
        self._timeout = timeout
        self._max_filters = max_filters
        self._max_backlog = max_backlog
        self._new_id = new_id

    def __len__(self) -> int:
        return len(self._filters)

    def install_log_filter(self, criteria: FilterParams, now: float) -> str:
        return self._install(_Filter(criteria, now), now)

    def install_block_filter(self, now: float) -> str:
        return self._install(_Filter(None, now), now)

    def _install(self, new_filter: _Filter, now: float) -> str:
        self.remove_expired(now)
        if len(self._filters) >= self._max_filters:
            raise LimitExceeded(
                f"the node holds {self._max_filters} filters, its limit; uninstall unused "
                "filters or use eth_getLogs"
            )
        filter_id = self._new_id()
        self._filters[int(filter_id, 16)] = new_filter
        return filter_id

    def uninstall(self, filter_id: int, now: float) -> bool:
        self.remove_expired(now)
        return self._filters.pop(filter_id, None) is not None

    def criteria(self, filter_id: int, now: float) -> FilterParams:
        """A log filter's criteria, for eth_getFilterLogs; counts as a use."""
        found = self._get(filter_id, now)
        if found.criteria is None:
            raise NotFound(f"filter {hex(filter_id)} is a block filter; it has no logs")
        return found.criteria

    def take_changes(self, filter_id: int, now: float) -> list[bytes] | list[LogView]:
        """Block hashes or logs that arrived since the previous call, oldest first."""
        found = self._get(filter_id, now)
        if found.overflowed:
            del self._filters[filter_id]
            raise LimitExceeded(
                f"filter {hex(filter_id)} was not polled while more than {self._max_backlog} "
                f"changes arrived, so it was removed; fetch from block "
                f"{hex(found.unpolled_from or 0)} with eth_getLogs and install a new filter"
            )
        changes, found.changes, found.unpolled_from = found.changes, [], None
        return changes

    def _get(self, filter_id: int, now: float) -> _Filter:
        self.remove_expired(now)
        found = self._filters.get(filter_id)
        if found is None:
            raise NotFound(
                f"filter {hex(filter_id)} not found; filters expire "
                f"{self._timeout:g} seconds after their last poll"
            )
        found.last_used = now
        return found

    def remove_expired(self, now: float) -> None:
        expired = [key for key, f in self._filters.items() if now - f.last_used > self._timeout]
        for key in expired:
            del self._filters[key]

    def on_block(self, block: BlockView, logs: Sequence[LogView]) -> None:
        for installed in self._filters.values():
            if installed.overflowed:
                continue
            if installed.unpolled_from is None:
                installed.unpolled_from = block.number
            if installed.criteria is None:
                new_changes: list[Any] = [block.hash]
            elif _is_within_bounds(block.number, installed.criteria):
                new_changes = [log for log in logs if is_log_matching(log, installed.criteria)]
            else:
                continue
            if len(installed.changes) + len(new_changes) > self._max_backlog:
                # Dropping silently would lose changes; the next poll says so instead.
                installed.changes, installed.overflowed = [], True
            else:
                installed.changes.extend(new_changes)


class Subscriptions:
    """One WebSocket connection's eth_subscribe subscriptions."""

    def __init__(self, *, max_subscriptions: int, new_id: Callable[[], str] = new_random_id) -> None:
        # id as a number -> (id as sent, log criteria or None for newHeads)
        self._subscriptions: dict[int, tuple[str, FilterParams | None]] = {}
        self._max = max_subscriptions
        self._new_id = new_id

    def __len__(self) -> int:
        return len(self._subscriptions)

    def subscribe(self, criteria: FilterParams | None) -> str:
        """Subscribe to new heads (criteria None) or to logs matching criteria."""
        if len(self._subscriptions) >= self._max:
            raise LimitExceeded(
                f"this connection has {self._max} subscriptions, its limit; unsubscribe first"
            )
        subscription_id = self._new_id()
        self._subscriptions[int(subscription_id, 16)] = (subscription_id, criteria)
        return subscription_id

    def unsubscribe(self, subscription_id: int) -> bool:
        return self._subscriptions.pop(subscription_id, None) is not None

    def notifications(self, block: BlockView, logs: Sequence[LogView]) -> list[dict[str, Any]]:
        """The eth_subscription messages a new block causes, in order."""
        messages: list[dict[str, Any]] = []
        header: dict[str, Any] | None = None
        for subscription_id, criteria in self._subscriptions.values():
            if criteria is None:
                header = header or encode_header(block)
                messages.append(_notification(subscription_id, header))
                continue
            messages.extend(
                _notification(subscription_id, encode_log(log))
                for log in logs
                if is_log_matching(log, criteria)
            )
        return messages


def _notification(subscription_id: str, result: Any) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "method": "eth_subscription",
        "params": {"subscription": subscription_id, "result": result},
    }


def encode_filter_changes(changes: list[bytes] | list[LogView]) -> list[Any]:
    return [encode_data(item) if isinstance(item, bytes) else encode_log(item) for item in changes]
