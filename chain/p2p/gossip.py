"""Gossip bookkeeping, pure: which messages were seen, and how long to wait to redial."""

from __future__ import annotations

from collections import OrderedDict

from chain.consensus.crypto import keccak256


def gossip_id(message_type: int, payload: bytes) -> bytes:
    """Identity of a gossiped message: the same bytes from any peer are one message."""
    return keccak256(bytes([message_type]) + payload)


class SeenCache:
    """A bounded LRU set of message ids, so each gossip message is handled and relayed once."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("a seen cache needs room for at least one id")
        self._capacity = capacity
        self._ids: OrderedDict[bytes, None] = OrderedDict()

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, message_id: object) -> bool:
        return message_id in self._ids

    def add(self, message_id: bytes) -> bool:
        """Record ``message_id``; True if it is new, False if it was seen already."""
        if message_id in self._ids:
            self._ids.move_to_end(message_id)
            return False
        self._ids[message_id] = None
        if len(self._ids) > self._capacity:
            self._ids.popitem(last=False)
        return True


def calculate_backoff(attempt: int, initial: float, maximum: float, random_fraction: float) -> float:
    """Delay before redial number ``attempt`` (0-based): exponential, capped, jittered.

    The delay is ``min(maximum, initial·2^attempt)`` scaled into its upper half by
    ``random_fraction`` ∈ [0, 1), so peers that lost a node together do not redial it
    in step, and no delay ever exceeds ``maximum``.
    """
    if not 0.0 <= random_fraction < 1.0:
        raise ValueError("random_fraction must be in [0, 1)")
    capped = min(maximum, initial * 2.0 ** min(attempt, 62))
    return capped * (1.0 - 0.5 * random_fraction)
