"""An RFC 9162 log whose every checkpoint is signed and queued for anchoring, atomically.

``AnchoredLog.append`` writes the leaves, the new signed checkpoint and an outbox
row in ONE database transaction (the log row is locked, so the tree only grows
and each checkpoint is consistent with the previous one by construction). The
worker (``run_worker``) then anchors outbox rows on chain; a chain outage or a
crash of either loses nothing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Connection, Engine

from anchoring.checkpoint import Checkpoint
from anchoring.merkle import leaf_hash
from anchoring.note import Ed25519Signer, sign_note
from anchoring.store_sql import (
    NodeCache,
    SqlLogStore,
    append_in,
    logs,
    outbox,
    signed_checkpoints,
    write_transaction,
)
from anchoring.tiles import TiledLog
from anchoring.witness_client import WitnessEndpoint, request_cosignature
from anchoring.worker import (
    AnchorChain,
    ChainUnavailable,
    Outcome,
    PendingAnchor,
    anchor_pending,
    backoff_seconds,
)

log = logging.getLogger("citychain.anchoring")

MAX_BATCH = 100_000


def chain_log_id(origin: str) -> bytes:
    """The AnchorRegistry log id of a log: SHA-256 of its origin line."""
    return hashlib.sha256(origin.encode()).digest()


@dataclass(frozen=True)
class Appended:
    first_index: int
    checkpoint: Checkpoint
    signed_note: bytes


class AnchoredLog:
    """``node_cache``: serve proofs' stored nodes from memory once read (see NodeCache:
    only for readers that need not see later edits of the tables)."""

    def __init__(self, engine: Engine, origin: str, signer: Ed25519Signer,
                 node_cache: NodeCache | None = None) -> None:
        self.engine = engine
        self.origin = origin
        self.signer = signer
        store = SqlLogStore(engine, node_cache)
        with engine.connect() as conn:
            exists = conn.execute(select(logs.c.id).where(logs.c.origin == origin)).scalar()
        self.store = store.open_log(origin) if exists is not None else store.create_log(origin)
        self.tree = TiledLog(self.store)

    def append(self, entries: Sequence[bytes]) -> Appended:
        """Append entries and sign a checkpoint of the new size, in one transaction."""
        with write_transaction(self.engine) as conn:
            first = self.append_in(conn, entries)
            appended = self.checkpoint_in(conn)
        assert appended is not None  # the log just grew
        return replace(appended, first_index=first)

    def append_in(self, conn: Connection, entries: Sequence[bytes]) -> int:
        """Append inside the caller's write transaction, WITHOUT a checkpoint; returns
        the first new index. High-rate writers (issuance) append per request and let
        ``checkpoint`` sign one checkpoint per interval, so anchoring keeps up."""
        if not entries:
            raise ValueError("append needs at least one entry")
        if len(entries) > MAX_BATCH:
            raise ValueError(f"{len(entries)} entries in one append; the limit is {MAX_BATCH}")
        hashes = [leaf_hash(e) for e in entries]
        return append_in(conn, self.store.log_id, hashes, entries).old_size

    def checkpoint(self) -> Appended | None:
        """Sign and queue a checkpoint if the log grew since the last one; else None."""
        with write_transaction(self.engine) as conn:
            return self.checkpoint_in(conn)

    def checkpoint_in(self, conn: Connection) -> Appended | None:
        row = conn.execute(
            select(logs.c.size, logs.c.root).where(logs.c.id == self.store.log_id).with_for_update()
        ).one()
        size, root = int(row.size), bytes(row.root)
        last = conn.execute(
            select(outbox.c.size).where(outbox.c.origin == self.origin)
            .order_by(outbox.c.size.desc()).limit(1)
        ).scalar()
        if size == 0 or (last is not None and int(last) >= size):
            return None
        checkpoint = Checkpoint(self.origin, size, root)
        note = sign_note(checkpoint.body(), [self.signer])
        updated = conn.execute(
            update(signed_checkpoints).where(signed_checkpoints.c.origin == self.origin)
            .values(body=checkpoint.body())
        )
        if updated.rowcount == 0:
            conn.execute(insert(signed_checkpoints).values(origin=self.origin, body=checkpoint.body()))
        conn.execute(insert(outbox).values(
            origin=self.origin, log_id=chain_log_id(self.origin), size=size,
            root=root, key_id=self.signer.key_id.ljust(8, b"\0"), checkpoint=note,
            status="pending", attempts=0,
        ))
        return Appended(int(last or 0), checkpoint, note)

    def latest_checkpoint_note(self) -> tuple[int, bytes]:
        """The newest signed checkpoint (size, note)."""
        with self.engine.connect() as conn:
            row = conn.execute(
                select(outbox.c.size, outbox.c.checkpoint).where(outbox.c.origin == self.origin)
                .order_by(outbox.c.size.desc()).limit(1)
            ).first()
        if row is None:
            raise ValueError(f"log {self.origin!r} has no checkpoint yet")
        return int(row.size), bytes(row.checkpoint)

    def proof_bundle(self, index: int) -> dict[str, object]:
        """Entry ``index`` with its inclusion proof against the newest signed checkpoint."""
        from anchoring.verification import RecordProof

        size, note = self.latest_checkpoint_note()
        return RecordProof(
            origin=self.origin, index=index, leaf_hash=self.tree.leaf_hash(index),
            proof=tuple(self.inclusion_proof(index, size)), checkpoint_note=note,
        ).to_json()

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return self.tree.inclusion_proof(index, size)

    def consistency_proof(self, size1: int, size2: int | None = None) -> list[bytes]:
        return self.tree.consistency_proof(size1, size2)


class SqlOutbox:
    """The worker's Outbox port over the anchoring_outbox table."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def pending(self, limit: int) -> list[PendingAnchor]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(outbox.c.id, outbox.c.log_id, outbox.c.size, outbox.c.root, outbox.c.key_id)
                .where(outbox.c.status == "pending")
                .order_by(outbox.c.log_id, outbox.c.size)
                .limit(limit)
            ).all()
        return [PendingAnchor(r.id, bytes(r.log_id), int(r.size), bytes(r.root), bytes(r.key_id), 0) for r in rows]

    def finish(self, row_id: int, outcome: Outcome, tx_hash: bytes | None, detail: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(outbox).where(outbox.c.id == row_id).values(
                status="done", outcome=outcome.value, tx_hash=tx_hash, last_error=detail[:1000]))

    def record_attempt(self, row_id: int, error: str) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(update(outbox).where(outbox.c.id == row_id).values(
                attempts=outbox.c.attempts + 1, last_error=error[:1000]))

    def counts(self) -> dict[str, int]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(outbox.c.status, outbox.c.outcome)).all()
        result: dict[str, int] = {}
        for row in rows:
            key = row.outcome or row.status
            result[key] = result.get(key, 0) + 1
        return result


class WitnessCosigning:
    """Before a checkpoint is anchored: collect witnesses' cosignatures, keep the
    cosigned note in its outbox row, and anchor how many there are."""

    def __init__(self, engine: Engine, witnesses: Sequence[WitnessEndpoint]) -> None:
        self.engine = engine
        self.witnesses = witnesses
        self._believed: dict[tuple[str, str], int] = {}  # (witness url, origin) -> size it holds

    def __call__(self, pending: PendingAnchor) -> PendingAnchor:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(outbox.c.origin, outbox.c.checkpoint).where(outbox.c.id == pending.id)
            ).one()
        origin, note = str(row.origin), bytes(row.checkpoint)
        tree = TiledLog(SqlLogStore(self.engine).open_log(origin))
        lines = []
        for witness in self.witnesses:
            line = request_cosignature(
                witness, note, pending.size, lambda old: tree.consistency_proof(old, pending.size),
                believed_size=self._believed.get((witness.url, origin), 0),
            )
            if line is not None:
                lines.append(line)
                self._believed[(witness.url, origin)] = pending.size
        if lines:
            cosigned = note.rstrip(b"\n") + b"\n" + "".join(lines).encode()
            with write_transaction(self.engine) as conn:
                conn.execute(update(outbox).where(outbox.c.id == pending.id).values(checkpoint=cosigned))
        return replace(pending, cosignatures=len(lines))


def run_worker(
    outbox_port: SqlOutbox, chain: AnchorChain, stop: threading.Event, poll: float = 0.5,
    cosign: WitnessCosigning | None = None,
) -> None:
    """Anchor until ``stop`` is set; back off (capped) while the chain is unavailable."""
    failures = 0
    while not stop.is_set():
        try:
            done = anchor_pending(outbox_port, chain, cosign=cosign)
            failures = 0
            for pending, outcome in done:
                log.info("log %s size %d: %s", pending.log_id.hex()[:16], pending.size, outcome.value)
            if not done:
                stop.wait(poll)
        except ChainUnavailable as exc:
            failures += 1
            delay = backoff_seconds(failures)
            log.warning("chain unavailable (%s); retrying in %.1fs", exc, delay)
            stop.wait(delay)


