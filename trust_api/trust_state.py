"""The current trust snapshot, refreshed from the chain when the trust contracts change.

Online verification, authorization and issuance read ``TrustState.current()``, an
immutable snapshot swapped in whole, so a request never sees half an update. The
refresher asks the chain whether any trust contract emitted a log since the
snapshot's block and re-reads only then.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Protocol

from license_registry.trust import TrustSnapshot

log = logging.getLogger("citychain.trust_api")


class SnapshotSource(Protocol):
    def read_snapshot(self, log_ids: Iterable[bytes]) -> TrustSnapshot: ...

    def changed_since(self, block_number: int) -> int | None: ...


class TrustDataUnavailable(Exception):
    """No snapshot could be read from the chain yet (HTTP 503)."""


class TrustState:
    def __init__(self, source: SnapshotSource, log_ids: Callable[[], Iterable[bytes]]) -> None:
        self._source = source
        self._log_ids = log_ids
        self._snapshot: TrustSnapshot | None = None
        self._refreshed_at = 0.0
        self._lock = threading.Lock()
        self._changed = threading.Condition()

    def current(self) -> TrustSnapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise TrustDataUnavailable(
                "trust data has not been read from the chain yet: is the node at the "
                "configured RPC URL running?")
        return snapshot

    @property
    def refreshed_at(self) -> float:
        return self._refreshed_at

    def refresh(self, *, force: bool = False) -> bool:
        """Re-read the snapshot if forced or the trust contracts changed; True if re-read."""
        with self._lock:
            current = self._snapshot
            if (not force and current is not None
                    and self._source.changed_since(current.block_number) is None):
                self._refreshed_at = time.time()
                return False
            snapshot = self._source.read_snapshot(list(self._log_ids()))
            if current is not None and snapshot.block_number < current.block_number:
                return False  # a lagging RPC node: never go back
            self._snapshot = snapshot
            self._refreshed_at = time.time()
        with self._changed:
            self._changed.notify_all()
        return True

    def wait_for(self, predicate: Callable[[TrustSnapshot], bool], timeout: float) -> TrustSnapshot:
        """Block until a snapshot satisfies ``predicate`` (tests and the dev bootstrap)."""
        deadline = time.monotonic() + timeout
        while True:
            snapshot = self._snapshot
            if snapshot is not None and predicate(snapshot):
                return snapshot
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("the trust snapshot did not reach the expected state")
            with self._changed:
                self._changed.wait(min(remaining, 0.2))

    def run(self, stop: threading.Event, interval: float) -> None:
        failures = 0
        while not stop.is_set():
            try:
                self.refresh()
                failures = 0
            except Exception as exc:  # the chain may be down: keep serving the last snapshot
                failures += 1
                if failures in (1, 10) or failures % 100 == 0:
                    log.warning("trust snapshot refresh failed (%d in a row): %s", failures, exc)
            stop.wait(interval if failures == 0 else min(5.0, interval * (1 + failures)))
