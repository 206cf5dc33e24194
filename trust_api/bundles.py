"""The signed trust bundle, rebuilt when the chain snapshot or a status list changes."""

from __future__ import annotations

import threading
import time
import uuid
from typing import TYPE_CHECKING, Any

from anchoring.anchored_log import chain_log_id
from license_registry.keys import public_key_of
from license_registry.trust_bundle import build_trust_bundle
from trust_api.status_store import latest_publications

if TYPE_CHECKING:
    from trust_api.platform import Platform

MAX_BUNDLE_AGE = 60  # seconds: rebuilt at least this often so its age stays meaningful


class BundleService:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._cached: tuple[tuple[Any, ...], dict[str, Any]] | None = None
        self._lock = threading.Lock()

    def platform_public_key(self) -> bytes:
        return public_key_of(self.platform.settings.secret("platform_key"))

    def current(self) -> dict[str, Any]:
        snapshot = self.platform.trust.current()
        with self.platform.engine.connect() as conn:
            publications = latest_publications(conn)
        now = int(time.time())
        key = (snapshot.block_number, snapshot.block_hash,
               tuple((p["department"], p["number"], p["purpose"], p["version"])
                     for p in publications))
        with self._lock:
            if self._cached is not None and self._cached[0] == key and \
                    now - self._cached[1]["_generatedAtUnix"] < MAX_BUNDLE_AGE:
                return self._cached[1]["bundle"]  # type: ignore[no-any-return]
        origins = {chain_log_id(o): o for o in self.platform.logs.origins("")}
        bundle = build_trust_bundle(snapshot, publications, origins, now,
                                    self.platform.settings.secret("platform_key"),
                                    f"urn:uuid:{uuid.uuid4()}")
        with self._lock:
            self._cached = (key, {"_generatedAtUnix": now, "bundle": bundle})
        return bundle
